#!/usr/bin/env python3
"""A stand-in for a helpdesk's webhook endpoint, for the walkthrough.

`webhook_receiver.py PORT SECRET_FILE` listens on 127.0.0.1:PORT and, for
each POST, checks its Standard Webhooks signature with the secret found in
SECRET_FILE (the JSON that CreateWebhook printed) and prints one JSON line:
the webhook-id, whether the signature verifies, and the event. It answers
204, so the delivery is logged as DELIVERED.

The check follows the specification: the key is the base64 after `whsec_`,
the signed content is "{webhook-id}.{webhook-timestamp}.{body}", and the
`webhook-signature` header holds space-separated `v1,<base64 HMAC-SHA256>`
entries.
"""
import base64, hashlib, hmac, json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT, SECRET_FILE = int(sys.argv[1]), sys.argv[2]


def verified(headers, body):
    secret = json.load(open(SECRET_FILE))["secret"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(entry, "v1," + expected)
        for entry in headers["webhook-signature"].split(" ")
    )


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        print(json.dumps({
            "webhookId": self.headers["webhook-id"],
            "verified": verified(self.headers, body),
            "event": json.loads(body)["data"],
        }), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Receiver).serve_forever()
