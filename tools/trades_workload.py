#!/usr/bin/env python3
"""The benchmark's import workload: CLIENTS registrations, then TRADES trades spread over
the clients in a fixed pseudo-random order, every trade large enough to earn points (so each
trade stores two events: the fact and its PointsAwarded). Deterministic: the same arguments
give the same file.

    tools/trades_workload.py CLIENTS TRADES > facts.jsonl      (default 1000 999000)
"""
import sys


def main():
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    trades = int(sys.argv[2]) if len(sys.argv) > 2 else 999000
    out = sys.stdout
    write = out.write
    for c in range(clients):
        write('{"type":"ClientRegistered","clientId":"C%07d","occurredAt":"2024-01-01T00:00:00Z",'
              '"data":{"name":"Client %d","segment":"retail","investorType":"ordinary","branch":"SH-01"},'
              '"metadata":{"actor":"crm","channel":"branch"}}\n' % (c, c))
    state = 88172645463325252
    # Trades from 2024-01-02 on, one every 20 seconds of simulated time, in time order.
    base = 1704153600  # 2024-01-02T00:00:00Z
    for t in range(trades):
        state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
        state ^= state >> 7
        state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
        client = state % clients
        notional = 1000 + (state >> 20) % 500000
        seconds = base + t * 20
        days, rem = divmod(seconds, 86400)
        # civil date from days since 1970-01-01 (proleptic Gregorian)
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        y = yoe + era * 400
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        d = doy - (153 * mp + 2) // 5 + 1
        m = mp + 3 if mp < 10 else mp - 9
        y += m <= 2
        write('{"type":"TradeExecuted","clientId":"C%07d","occurredAt":"%04d-%02d-%02dT%02d:%02d:%02dZ",'
              '"data":{"orderId":"O-%d","productId":"EQ-600519","notional":%d.%02d},'
              '"metadata":{"actor":"oms","channel":"app"}}\n'
              % (client, y, m, d, rem // 3600, rem // 60 % 60, rem % 60, t, notional, t % 100))


if __name__ == "__main__":
    main()
