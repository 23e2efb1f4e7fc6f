"""Replays every finding of the Security issue (#11) against a real `policy-qa serve`
started from the source tree given as argv[1] on port argv[2], with the index at
/tmp/pqa/idx (`policy-qa build --out /tmp/pqa/idx`); prints one line per finding.

    python scripts/replay_security_findings.py . 7871
    git worktree add /tmp/before 8b40fb1 && python scripts/replay_security_findings.py /tmp/before 7872
"""
import asyncio, os, signal, subprocess, sys, time, tempfile
import httpx, websockets
tree, port = sys.argv[1], int(sys.argv[2])
tmp = tempfile.mkdtemp()
env = {**os.environ, "PYTHONPATH": tree, "POLICY_QA_INDEX": "/tmp/pqa/idx", "HF_HUB_OFFLINE": "1",
       "POLICY_QA_OUTBOX": f"{tmp}/o.sqlite3", "POLICY_QA_MAILDIR": f"{tmp}/md",
       "POLICY_QA_ANALYTICS": f"{tmp}/a.sqlite3", "POLICY_QA_CONSOLE_USERS": "admin:x" if "short" in sys.argv else "admin:correct-horse-battery-staple",
       "GRADIO_ANALYTICS_ENABLED": "False"}
log = open(f"{tmp}/log", "w")
p = subprocess.Popen([sys.executable, "-m", "ui.cli.main", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tree)
B = f"http://127.0.0.1:{port}"
for _ in range(200):
    try:
        if httpx.get(B + "/healthz").status_code == 200: break
    except httpx.TransportError: pass
    if p.poll() is not None: print("server exited", p.returncode, open(f"{tmp}/log").read()[-300:]); sys.exit()
    time.sleep(0.3)
h = httpx.Client(base_url=B, timeout=20)
def show(label, r, keys=()):
    extra = " ".join(f"{k}={r.headers.get(k)!r}" for k in keys)
    print(f"{label}: {r.status_code} {r.text[:110]!r} {extra}")
x = {"data": ["hi", [{"role": "user", "content": [{"type": "file", "file": {"path": "/proc/self/environ", "meta": {"_type": "gradio.FileData"}}}]}], None]}
r = h.post("/gradio_api/run/ask", json=x); show("C1 run/ask FileData history", r)
m = __import__("re").search(r'"url":"([^"]+environ)"', r.text)
if m: show("C1 fetch the copied file", h.get(m.group(1).replace("http://localhost", B)))
r = h.post("/gradio_api/queue/join", json={**x, "fn_index": 0, "session_hash": "abc"}); show("C1 queue/join FileData", r)
s = httpx.Client(base_url=B, timeout=20, headers={"Origin": B})
s.post("/console/login", data={"username": "admin", "password": "correct-horse-battery-staple"})
r = s.get("/console/config"); print("L7 signed-in /console/config:", r.status_code, "cache-control=", r.headers.get("cache-control"))
tok = s.cookies.get("policy_qa_console")
s.get("/console/logout")
r = httpx.get(B + "/console/config", cookies={"policy_qa_console": tok}); print("L8 after GET /console/logout, replayed cookie -> /console/config:", r.status_code)
codes = [h.post("/console/login", data={"username": "admin", "password": "wrong"}, headers={"Origin": B, "X-Forwarded-For": f"10.1.0.{i}"}).status_code for i in range(1, 31)]
print("M1 30 wrong console passwords, rotating X-Forwarded-For:", {c: codes.count(c) for c in set(codes)})
codes = [h.post("/api/escalations", json={"question": f"Are you HIPAA compliant? (asker {i})"}, headers={"X-Forwarded-For": f"10.2.0.{i}"}).status_code for i in range(1, 41)]
print("M2 40 POST /api/escalations, rotating X-Forwarded-For:", {c: codes.count(c) for c in set(codes)})
codes = [h.post("/api/ask", json={"question": f"q{i}"}, headers={"X-Forwarded-For": f"10.3.0.{i}"}).status_code for i in range(1, 81)]
print("M3 80 POST /api/ask, rotating X-Forwarded-For:", {c: codes.count(c) for c in set(codes)})
r = h.get("/console/login", headers={"Origin": "https://evil.example", "Host": "chat.example.com"}); show("L2 console GET, foreign Origin, non-localhost Host", r, ["access-control-allow-origin", "access-control-allow-credentials"])
r = h.get("/config", headers={"Origin": "https://evil.example", "Host": "chat.example.com"}); show("L2 chat /config, foreign Origin", r, ["access-control-allow-origin"])
for path, body in [("/gradio_api/queue/join", {"fn_index": 99, "data": [], "session_hash": "a"}), ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "a"}), ("/gradio_api/call/nonexistent", {"data": []}), ("/gradio_api/run/predict", {"data": []})]:
    try: show(f"L3 {path} {body.get('fn_index', '')}", h.post(path, json=body))
    except httpx.TransportError as e: print(f"L3 {path}: connection error {e!r}")
async def ws():
    try:
        async with websockets.connect(B.replace("http", "ws") + "/console/") as c:
            try: await c.recv()
            except websockets.ConnectionClosed: pass
            return f"closed {c.close_code}"
    except Exception as e: return f"handshake failed: {e}"
print("L4 WebSocket to /console/:", asyncio.run(ws()))
r = h.post("/api/ask", json={"question": "hi"}, headers={"Origin": f"https://127.0.0.1:{port}"}); show("L5 POST /api/ask Origin https://127.0.0.1:P on http", r)
r = h.get("/"); show("L6 GET / headers", r, ["content-security-policy", "server"])
import sqlite3
def wait(sess):
    with h.stream("GET", f"/gradio_api/queue/data?session_hash={sess}") as st:
        for line in st.iter_lines():
            if "process_completed" in line: return
h2 = httpx.Client(base_url=B, timeout=20, headers={"X-Forwarded-For": "10.9.9.9"})
sess = "thumbsession1"
deps = {d["api_name"]: d for d in h.get("/config").json()["dependencies"]}
data = ["Do you sell my data?"] + ([[]] if len(deps["ask"]["inputs"]) == 3 else []) + [None]
ask = h.post("/gradio_api/queue/join", json={"fn_index": deps["ask"]["id"], "data": data, "session_hash": sess})
wait(sess)
for i in range(30):
    h.post("/gradio_api/queue/join", json={"fn_index": deps["feedback"]["id"], "data": [None], "event_data": {"index": [1, 0], "value": "x", "liked": False}, "session_hash": sess}); wait(sess)
time.sleep(3)
n = sqlite3.connect(f"{tmp}/a.sqlite3").execute("select count(*) from feedback").fetchone()[0]
print("L1 30 thumbs-down events on one answer -> feedback rows stored:", n)
p.send_signal(signal.SIGINT); p.wait(30)
