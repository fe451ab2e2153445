#!/usr/bin/env python3
"""Runs docs/WALKTHROUGH.md as written, so the docs cannot rot.

Every ```sh block runs in order in bash (environment carried from block to
block); a ```sh block whose first line is `# in a second terminal` runs in
the background (the server). The walkthrough gets a fresh database,
dropped at the end.

What a command must print is checked in one of two ways:

- A ```text block followed by a hidden `<!-- expect ... -->` comment: the
  command's output is parsed as JSON (what grpcurl prints; for an error,
  the JSON of its Details) and every line of the comment is a check on a
  path into it:

      deliveryGap.gapPoints ~ 77.08
      groups[labelValue=emea].report.questions[0].roles[role=RESPONDENT_ROLE_CUSTOMER].respondents = "95"
      customers[0].tier = "EFFORT_TIER_HIGH"
      reasons has "2 failed self-service attempts"
      details[1].fieldViolations[field="responses[0].id"] exists
      nextPageToken exists

  A path is dot-separated field names; `[n]` takes element n of an array,
  `[field=value,...]` the one element whose fields have those values (it
  must be exactly one; quote a value holding `[`, `]` or `,`). A grpcurl
  error becomes `{"code", "message", "details": [...]}`. `= JSON` compares
  exactly; `~ NUMBER` within half a
  unit of the last decimal shown (81.30 means 81.295 to 81.305); `has JSON`
  that an array holds the value or a string contains it; `exists` that the
  path is there. The visible block shows the reader what matters.
- A ```text block without one: every non-empty line of it must be a whole
  line of the output (leading and trailing blanks aside); a line ending in
  `...` must begin an output line.

`WALKTHROUGH_VERBOSE=1` prints every command's output;
`WALKTHROUGH_KEEP_GOING=1` checks every output instead of stopping at the
first that fails.
"""
import json, os, re, socket, subprocess, sys, tempfile, time

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "WALKTHROUGH.md")
# A fenced block, optionally followed by a hidden expectation comment.
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```[ \t]*\n(?:\s*<!--\s*expect\n(.*?)^-->)?", re.S | re.M)
STEP = re.compile(r'\.?([^.\[\]]+)|\[((?:"[^"]*"|[^\]"])*)\]')
PAIR = re.compile(r'([^=,\s]+)=("[^"]*"|[^,]*)')
VERBOSE = os.environ.get("WALKTHROUGH_VERBOSE") == "1"
KEEP_GOING = os.environ.get("WALKTHROUGH_KEEP_GOING") == "1"


def wait_for_port(port, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    sys.exit(f"walkthrough: nothing listens on {port} after {seconds}s")


def json_of(output):
    """grpcurl's answer as JSON, or for a grpcurl error
    `{"code": ..., "message": ..., "details": [<each detail's JSON>]}`."""
    error = re.search(r"^ERROR:\n\s*Code: (\S+)\n\s*Message: (.*)$", output, re.M)
    if error:
        details = re.findall(r"^\s*\d+\)\s*(\{.*\})\s*$", output, re.M)
        return {"code": error[1], "message": error[2], "details": [json.loads(d) for d in details]}
    start = output.find("{")
    if start < 0:
        raise ValueError("no JSON in the output")
    value, _ = json.JSONDecoder().raw_decode(output[start:])
    return value


def resolve(value, path):
    """Follows `path` into `value`; raises KeyError with what is missing."""
    at = "$"
    for name, selector in STEP.findall(path):
        if name:
            if not isinstance(value, dict) or name not in value:
                raise KeyError(f"{at} has no field {name!r}")
            value, at = value[name], f"{at}.{name}"
        elif selector.isdigit():
            i = int(selector)
            if not isinstance(value, list) or i >= len(value):
                raise KeyError(f"{at} has no element {i}")
            value, at = value[i], f"{at}[{i}]"
        else:
            wanted = {k: v[1:-1] if v.startswith('"') else v for k, v in PAIR.findall(selector)}
            if not isinstance(value, list):
                raise KeyError(f"{at} is not a list")
            found = [v for v in value if isinstance(v, dict)
                     and all(str(v.get(k)) == w for k, w in wanted.items())]
            if len(found) != 1:
                raise KeyError(f"{at} has {len(found)} elements with {selector}, not one")
            value, at = found[0], f"{at}[{selector}]"
    return value


def check_json(output, checks):
    """The failed checks of an `<!-- expect -->` comment against `output`."""
    try:
        doc = json_of(output)
    except ValueError as e:
        return [f"the output is not JSON: {e}"]
    failed = []
    for line in checks.splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"(.+?)\s+(=|~|has|exists)(?=\s|$)\s*(.*)", line)
        if not m:
            failed.append(f"unreadable check: {line!r}")
            continue
        path, op, want = m.groups()
        try:
            got = resolve(doc, path)
        except KeyError as e:
            failed.append(f"{line}: {e.args[0]}")
            continue
        if op == "exists":
            ok = True
        elif op == "=":
            ok = got == json.loads(want)
        elif op == "~":
            decimals = len(want.split(".")[1]) if "." in want else 0
            tolerance = max(0.5 * 10 ** -decimals, 1e-12 * abs(float(want)))
            ok = isinstance(got, (int, float)) and abs(got - float(want)) <= tolerance
        else:  # has
            item = json.loads(want)
            ok = (isinstance(got, list) and item in got) or (
                isinstance(got, str) and isinstance(item, str) and item in got)
        if not ok:
            failed.append(f"{line}: found {json.dumps(got)[:300]}")
    return failed


def check_lines(output, expected):
    """The expected lines that are not whole lines (or, ending in `...`,
    line beginnings) of `output`."""
    lines = [line.strip() for line in output.splitlines()]
    failed = []
    for want in expected.splitlines():
        want = want.strip()
        if not want:
            continue
        if want.endswith("..."):
            ok = any(line.startswith(want[:-3]) for line in lines)
        else:
            ok = want in lines
        if not ok:
            failed.append(f"no output line {'begins with' if want.endswith('...') else 'is'} {want!r}")
    return failed


def main():
    doc = open(DOC).read()
    db = f"gapscore_walkthrough_{os.getpid()}"
    state = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False)
    state.write(f"export DATABASE_URL=postgres://localhost:5432/{db}\n")
    state.close()
    background, last_output, commands, checked, failures = [], None, 0, 0, 0
    try:
        for kind, body, checks in BLOCK.findall(doc):
            if kind == "sh":
                commands += 1
                script = f"set -e\nsource {state.name}\n{body}\nexport -p > {state.name}\n"
                if body.startswith("# in a second terminal"):
                    with socket.socket() as s:
                        if s.connect_ex(("127.0.0.1", 50051)) == 0:
                            sys.exit("walkthrough: port 50051 is already in use; stop that server first")
                    log = open(f"/tmp/{db}.server.log", "w")
                    background.append(subprocess.Popen(["bash", "-c", script], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
                    wait_for_port(50051)
                    last_output = None
                    continue
                print(f"$ {body.strip()[:200]}", flush=True)
                done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=900)
                last_output = done.stdout + done.stderr
                if VERBOSE:
                    print(last_output)
                if done.returncode != 0:
                    print(last_output)
                    sys.exit(f"walkthrough: command failed with exit code {done.returncode}")
            elif kind == "text" and last_output is not None:
                checked += 1
                failed = check_json(last_output, checks) if checks else check_lines(last_output, body)
                for f in failed:
                    print(f"walkthrough: {f}")
                if failed:
                    print("--- the command printed:\n" + last_output)
                    failures += len(failed)
                    if not KEEP_GOING:
                        break
        if failures:
            sys.exit(f"walkthrough: {failures} expectation(s) not met")
    finally:
        for p in background:
            try:
                os.killpg(p.pid, 15)
                p.wait(timeout=15)
            except Exception:
                pass
        subprocess.run(["psql", "-h", "127.0.0.1", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"], capture_output=True)
        os.unlink(state.name)
    print(f"walkthrough: {commands} commands ran, {checked} outputs checked, every expectation met")


if __name__ == "__main__":
    main()
