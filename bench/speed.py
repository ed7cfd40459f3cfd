#!/usr/bin/python3
"""bench/speed.py - the client side of make bench's speed-to-lead scenario.

    speed.py BASE_URL DEALERSHIP_ID N RATE TAG DOMAIN OUT.csv

Posts N distinct leads to POST /webhooks/form/{DEALERSHIP_ID} at RATE per
second (8 threads, keep-alive connections), each with its own e-mail
address <i>.<TAG>@<DOMAIN>, and writes one CSV line per 201 answer:
lead_id,epoch seconds when the 201 arrived.  Prints "sent N ok K other M".
Python 3 standard library only.
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

base, dealer, n, rate, tag, domain, out = sys.argv[1:8]
n = int(n)
rate = float(rate)
url = urlparse(base)
threads = 8
rows, other = [], [0]
lock = threading.Lock()
start = time.time() + 0.2


def worker(k):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for i in range(k, n, threads):
        due = start + i / rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        body = json.dumps({
            "name": "Fart Test%d" % i,
            "email": "%d.%s@%s" % (i, tag, domain),
            "vehicle": "Model Y",
            "message": "Hei, er bilen ledig for prøvekjøring?",
        })
        try:
            conn.request("POST", "/webhooks/form/" + dealer, body,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            t = time.time()
        except Exception:
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port,
                                              timeout=30)
            with lock:
                other[0] += 1
            continue
        if r.status == 201:
            with lock:
                rows.append((json.loads(data)["lead_id"], t))
        else:
            with lock:
                other[0] += 1


ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(out, "w") as f:
    for lead, t in rows:
        f.write("%s,%.6f\n" % (lead, t))
print("sent %d ok %d other %d" % (n, len(rows), other[0]))
