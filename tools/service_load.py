#!/usr/bin/env python3
"""Load benchmark of the HTTP service, on loopback only, bounded in count and time.

Starts nothing itself: give it a running service (`clientledger serve`) on 127.0.0.1 and a
token with role `ingest` (writes) and one with `read` (reads). Three phases:

  single   N single-event POSTs from C concurrent clients (default 4000 events, 32 clients),
           and meanwhile one reader GETting one client's state: events/s, write p50/p99,
           read p99 under that load
  batch    B POSTs of 1,000 events each (default 20), one after another: events/s

    tools/service_load.py --port 8080 --ingest TOKEN --read TOKEN [--single 4000]
        [--clients 32] [--batches 20] [--max-seconds 60]

Prints one `name value` line per figure (tools/service_bench.sh reads them). Uses the
standard library only (http.client with one keep-alive connection per client thread).
"""
import argparse
import http.client
import json
import threading
import time


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def register_line(client_id, at="2024-01-01T00:00:00Z"):
    return ('{"type":"ClientRegistered","clientId":"%s","occurredAt":"%s",'
            '"data":{"name":"Load %s","segment":"retail","investorType":"ordinary","branch":"SH-01"}}'
            % (client_id, at, client_id))


def deposit_line(client_id, n):
    seconds = 1704153600 + n
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    return ('{"type":"FundsDeposited","clientId":"%s","occurredAt":"%s","data":{"amount":100.00}}'
            % (client_id, at))


class Client:
    def __init__(self, port, token):
        self.port = port
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/x-ndjson"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None):
        for attempt in range(3):
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise


def single_phase(args, run):
    total = args.single
    per_client = total // args.clients
    latencies = []
    failures = []
    read_latencies = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    stop_reader = threading.Event()

    def writer(index):
        client = Client(args.port, args.ingest)
        mine = []
        for n in range(per_client):
            if time.monotonic() > deadline:
                break
            # Each writer has its own clients: 1 registration, then deposits.
            cid = "L%s%02dx%05d" % (run, index, n // 50)
            body = register_line(cid) if n % 50 == 0 else deposit_line(cid, n)
            started = time.monotonic()
            status, _ = client.request("POST", "/events", body)
            mine.append(time.monotonic() - started)
            if status not in (200, 201):
                with lock:
                    failures.append(status)
        with lock:
            latencies.extend(mine)

    def reader():
        client = Client(args.port, args.read)
        cid = "L%s%02dx%05d" % (run, 0, 0)
        while not stop_reader.is_set():
            started = time.monotonic()
            status, _ = client.request("GET", "/clients/" + cid)
            if status == 200:
                read_latencies.append(time.monotonic() - started)
            time.sleep(0.005)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(args.clients)]
    reading = threading.Thread(target=reader)
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.2)
    reading.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    stop_reader.set()
    reading.join()
    print("single_events %d" % len(latencies))
    print("single_failures %d" % len(failures))
    print("single_eps %.0f" % (len(latencies) / elapsed))
    print("single_p50_ms %.2f" % (percentile(latencies, 50) * 1000))
    print("single_p99_ms %.2f" % (percentile(latencies, 99) * 1000))
    print("read_requests %d" % len(read_latencies))
    print("read_p99_ms %.2f" % (percentile(read_latencies, 99) * 1000))


def batch_phase(args, run):
    client = Client(args.port, args.ingest)
    events = 0
    started = time.monotonic()
    deadline = started + args.max_seconds
    for b in range(args.batches):
        if time.monotonic() > deadline:
            break
        lines = []
        for n in range(1000):
            cid = "B%s%03dx%03d" % (run, b, n // 20)
            lines.append(register_line(cid) if n % 20 == 0 else deposit_line(cid, n))
        status, data = client.request("POST", "/events", "\n".join(lines))
        if status != 201:
            print("batch_failure %d %s" % (status, data[:200]))
            break
        events += 1000
    elapsed = time.monotonic() - started
    print("batch_events %d" % events)
    print("batch_eps %.0f" % (events / elapsed))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ingest", required=True)
    parser.add_argument("--read", required=True)
    parser.add_argument("--single", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--run", default=str(int(time.time()) % 100000))
    args = parser.parse_args()
    single_phase(args, args.run)
    batch_phase(args, args.run)


if __name__ == "__main__":
    main()
