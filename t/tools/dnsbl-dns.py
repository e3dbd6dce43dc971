#!/usr/bin/python3
# t/tools/dnsbl-dns.py — a real DNS server on 127.0.0.1 for the DNS-BL tests:
# dnslib's ZoneResolver (as t/tools/dns.sh runs it, UDP and TCP, threaded),
# with zones that answer slowly, to prove that lists are asked at once.
#
#   dnsbl-dns.py --zone FILE --port PORT [--slow SUFFIX=SECONDS]... [--log FILE]
#
# A question for a name ending in SUFFIX is answered after SECONDS (each in
# its own thread: others are not held up).  --log appends "TYPE NAME" for
# every question, so that a test can count what was asked.
import argparse
import threading
import time

from dnslib import QTYPE
from dnslib.server import DNSServer, DNSLogger
from dnslib.zoneresolver import ZoneResolver


class SlowResolver(ZoneResolver):
    def __init__(self, zone, slow, log):
        super().__init__(zone)
        self.slow = slow
        self.log = log
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        name = str(request.q.qname).rstrip(".").lower()
        if self.log:
            with self.lock, open(self.log, "a") as f:
                f.write("%s %s\n" % (QTYPE[request.q.qtype], name))
        for suffix, secs in self.slow:
            if name == suffix or name.endswith("." + suffix):
                time.sleep(secs)
        return super().resolve(request, handler)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--zone", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--slow", action="append", default=[])
    p.add_argument("--log")
    a = p.parse_args()
    slow = []
    for s in a.slow:
        suffix, secs = s.split("=")
        slow.append((suffix.lower(), float(secs)))
    with open(a.zone) as z:
        r = SlowResolver(z, slow, a.log)
    quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data")
    servers = [DNSServer(r, port=a.port, address="127.0.0.1", logger=quiet),
               DNSServer(r, port=a.port, address="127.0.0.1", tcp=True, logger=quiet)]
    for s in servers:
        s.start_thread()
    while True:
        time.sleep(3600)


main()
