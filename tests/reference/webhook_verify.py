#!/usr/bin/env python3
"""Verifies a gapscore webhook delivery with the Standard Webhooks reference
library (PyPI `standardwebhooks`), independently of the server's code.

    webhook_verify.py < delivery.json   # {"secret", "headers", "body"}

prints the verified payload's `data.eventId` and exits 0, or exits 1 with
the library's error. Exits 3 when the library is not installed (the test
then says so and relies on its own implementation from the spec text).

    webhook_verify.py --example

signs the example of the specification (spec/standard-webhooks.md) with
the library, which is what webhook_verify.out.txt records.
"""
import datetime
import json
import sys

try:
    from standardwebhooks.webhooks import Webhook
except ImportError:
    print("the standardwebhooks package is not installed (pip install standardwebhooks)")
    sys.exit(3)

if sys.argv[1:] == ["--example"]:
    wh = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    at = datetime.datetime.fromtimestamp(1614265330, tz=datetime.timezone.utc)
    print(wh.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", at, '{"test": 2432232314}'))
    sys.exit(0)

delivery = json.load(sys.stdin)
try:
    payload = Webhook(delivery["secret"]).verify(delivery["body"], delivery["headers"])
except Exception as e:  # the library's WebhookVerificationError
    print(f"verification failed: {e!r}")
    sys.exit(1)
print(payload["data"]["eventId"])
