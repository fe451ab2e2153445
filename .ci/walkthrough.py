#!/usr/bin/env python3
"""Runs docs/WALKTHROUGH.md as written, so the docs cannot rot.

Every ```sh block runs in order in bash (environment carried from block to
block); a ```sh block whose first line is `# in a second terminal` runs in
the background (the server). Every ```text block that follows a command is
its expected output: each non-empty line must appear in what the command
printed. The walkthrough gets a fresh database, dropped at the end.
"""
import os, re, socket, subprocess, sys, tempfile, time

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "WALKTHROUGH.md")
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def wait_for_port(port, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    sys.exit(f"walkthrough: nothing listens on {port} after {seconds}s")


def main():
    doc = open(DOC).read()
    db = f"gapscore_walkthrough_{os.getpid()}"
    state = tempfile.NamedTemporaryFile("w", suffix=".env", delete=False)
    state.write(f"export DATABASE_URL=postgres://localhost:5432/{db}\n")
    state.close()
    background, last_output, failures, commands = [], None, 0, 0
    try:
        for kind, body in BLOCK.findall(doc):
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
                if done.returncode != 0:
                    print(last_output)
                    sys.exit(f"walkthrough: command failed with exit code {done.returncode}")
            elif kind == "text" and last_output is not None:
                for line in body.splitlines():
                    want = line.strip()
                    if want and want != "..." and want not in last_output:
                        failures += 1
                        print(f"walkthrough: expected output missing: {want!r}")
                if failures:
                    print("--- the command printed:\n" + last_output)
                    sys.exit(f"walkthrough: {failures} expected line(s) missing")
    finally:
        for p in background:
            try:
                os.killpg(p.pid, 15)
                p.wait(timeout=15)
            except Exception:
                pass
        subprocess.run(["psql", "-h", "127.0.0.1", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"], capture_output=True)
        os.unlink(state.name)
    print(f"walkthrough: {commands} commands ran, every expected output found")


if __name__ == "__main__":
    main()
