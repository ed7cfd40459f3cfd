#!/usr/bin/python3
"""fake_provider.py - a loopback stand-in for the paid HTTP providers.

    fake_provider.py LOGFILE [--twilio-sid SID] [--twilio-token TOKEN]

One ThreadingHTTPServer on 127.0.0.1, an ephemeral port; prints
"PORT <n>" once it accepts connections.  It speaks:

  POST .../chat/completions          OpenAI chat completions (any prefix,
                                     e.g. /v1/chat/completions)
  POST /2010-04-01/Accounts/{AccountSid}/Messages.json
                                     Twilio's Messages API: HTTP basic auth
                                     must be SID:TOKEN of the command line
                                     (401, Twilio error 20003, otherwise)
  POST /_control                     script the next answers (not logged)

Every other request is logged and answered 404.  Each request (method,
path, headers, body as text, and "form": the decoded fields of a
form-encoded body, null when it does not decode) is appended to LOGFILE
as one JSON line before it is answered, so a test sees even requests it
timed out on.

/_control takes a JSON list of answers, appended to one queue that the
provider requests consume in order (a missing or empty queue means
success).  Each answer is an object with any of:

  "status": 429            HTTP status (errors get the protocol's error body)
  "retry_after": 1         a Retry-After header, in seconds
  "delay_ms": 5000         wait this long before answering
  "malformed": true        200 with a body that is not JSON
  "content": ""            the completion's text (chat)
  "finish_reason": "length"
  "no_choices": true       a chat answer with "choices": []
  "code": 21610, "message": "..."   Twilio's error code and message

With {"reset": true} as the body instead of a list the queue is emptied.
Stops on SIGTERM.  Python 3 standard library only.
"""

import argparse
import base64
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([A-Za-z0-9]+)/Messages\.json$")
TWILIO_ERRORS = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
}


class State:
    def __init__(self, logfile, sid, token):
        self.logfile = logfile
        self.sid = sid
        self.token = token
        self.lock = threading.Lock()
        self.queue = []

    def next_answer(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else {}

    def log(self, entry):
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock:
            with open(self.logfile, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-provider/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the log file is the record
        pass

    @property
    def state(self):
        return self.server.state

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, obj=None, raw=None, headers=()):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._dispatch(b"")

    def do_POST(self):
        self._dispatch(self._body())

    def _dispatch(self, body):
        if self.command == "POST" and self.path == "/_control":
            return self._control(body)
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            # Decoded strictly: a bad escape or bad UTF-8 is the test's
            # finding, not something to smooth over.
            try:
                entry["form"] = {k: v[0] for k, v in parse_qs(
                    body.decode("ascii"), keep_blank_values=True,
                    strict_parsing=bool(body), errors="strict").items()}
            except (ValueError, UnicodeDecodeError):
                entry["form"] = None
        self.state.log(entry)
        if self.command == "POST" and self.path.endswith("/chat/completions"):
            return self._chat(body)
        m = TWILIO_PATH.match(self.path)
        if self.command == "POST" and m:
            return self._twilio(m.group(1), body)
        self._send(404, {"error": {"message": "no such endpoint",
                                   "type": "invalid_request_error"}})

    def _control(self, body):
        try:
            obj = json.loads(body or b"[]")
        except ValueError:
            return self._send(400, {"error": "not JSON"})
        with self.state.lock:
            if isinstance(obj, dict) and obj.get("reset"):
                self.state.queue.clear()
            elif isinstance(obj, list):
                self.state.queue.extend(a for a in obj if isinstance(a, dict))
            else:
                return self._send(400, {"error": "expected a list"})
            n = len(self.state.queue)
        self._send(200, {"queued": n})

    def _prelude(self, ans):
        """Delay, then True when the answer was a malformed body (sent)."""
        if ans.get("delay_ms"):
            time.sleep(ans["delay_ms"] / 1000.0)
        if ans.get("malformed"):
            self._send(ans.get("status", 200), raw=b'{"id": "chatcmpl-x", "choices": [')
            return True
        return False

    def _retry_headers(self, ans):
        if "retry_after" in ans:
            return [("Retry-After", str(ans["retry_after"]))]
        return []

    def _chat(self, body):
        ans = self.state.next_answer()
        if self._prelude(ans):
            return
        status = ans.get("status", 200)
        if status != 200:
            kind = ("rate_limit_exceeded" if status == 429 else
                    "server_error" if status >= 500 else "invalid_request_error")
            return self._send(status, {"error": {
                "message": ans.get("message", f"scripted {status}"),
                "type": kind, "param": None, "code": kind}},
                headers=self._retry_headers(ans))
        try:
            req = json.loads(body)
        except ValueError:
            return self._send(400, {"error": {"message": "invalid JSON body",
                                              "type": "invalid_request_error"}})
        content = ans.get("content", "Hei! Takk for henvendelsen. Bilen er "
                                     "fortsatt til salgs.")
        choices = [] if ans.get("no_choices") else [{
            "index": 0,
            "message": {"role": "assistant", "content": content,
                        "refusal": None},
            "logprobs": None,
            "finish_reason": ans.get("finish_reason", "stop"),
        }]
        prompt = sum(len(str(m.get("content", "")).split())
                     for m in req.get("messages", []))
        completion = len(content.split())
        self._send(200, {
            "id": "chatcmpl-" + secrets.token_hex(12),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model", "unknown"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt,
                      "completion_tokens": completion,
                      "total_tokens": prompt + completion},
            "system_fingerprint": "fp_fake",
        })

    def _twilio_error(self, status, code, message=None, headers=()):
        self._send(status, {
            "code": code,
            "message": message or TWILIO_ERRORS.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }, headers=headers)

    def _twilio(self, sid, body):
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(
            f"{self.state.sid}:{self.state.token}".encode()).decode()
        if sid != self.state.sid or not secrets.compare_digest(auth, want):
            return self._twilio_error(401, 20003)
        ans = self.state.next_answer()
        if self._prelude(ans):
            return
        status = ans.get("status", 201)
        if status >= 300:
            code = ans.get("code", 20429 if status == 429 else
                           20500 if status >= 500 else 21211)
            return self._twilio_error(status, code, ans.get("message"),
                                      headers=self._retry_headers(ans))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"),
                                             keep_blank_values=True).items()}
        if "To" not in form or "Body" not in form or not (
                "From" in form or "MessagingServiceSid" in form):
            return self._twilio_error(400, 21604,
                                      "A 'To', 'Body' and 'From' or "
                                      "'MessagingServiceSid' are required.")
        msid = "SM" + secrets.token_hex(16)
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        self._send(status, {
            "account_sid": sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": msid,
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/{msid}/Media.json"},
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{msid}.json",
        })


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logfile")
    ap.add_argument("--twilio-sid", default="AC" + "0" * 32)
    ap.add_argument("--twilio-token", default="test-token")
    args = ap.parse_args()
    open(args.logfile, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args.logfile, args.twilio_sid, args.twilio_token)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"PORT {srv.server_address[1]}", flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
