#!/usr/bin/env python3
"""Splits the result latency of `pspf bench e2e --runs latency` into stages, from a loopback
packet capture taken during the run:

    tcpdump -i lo -s 0 -B 262144 -w /tmp/e2e.pcap tcp &
    .build/release/pspf bench e2e --runs latency --latency-seconds 12
    kill %1
    scripts/mqtt-stage-latency.py /tmp/e2e.pcap

For every window whose result reached the bench's subscriber it matches, by device and event
time, the MQTT packets on the wire:

    t1  publisher -> broker   PUBLISH of the reading that closes the window
    t2  broker -> daemon      the same reading delivered to the daemon's ingest
    t3  daemon -> broker      its PUBACK (QoS 1: written only after the batch is durable)
    t4  daemon -> broker      PUBLISH of the window's result (the MQTT sink)
    t5  broker -> subscriber  the result delivered

and prints the distribution of each stage, the daemon's PUBACK latency over all readings, and
its PUBACK bursts (one burst per durable batch). Only the standard library is needed (pcap
parsed by hand; IPv4/TCP over Ethernet or Linux cooked captures; MQTT 3.1.1 and 5).
"""
import collections
import json
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        header = f.read(24)
        nano = struct.unpack("<I", header[:4])[0] == 0xA1B23C4D
        linktype = struct.unpack("<I", header[20:24])[0]
        link = {1: 14, 113: 16}.get(linktype, 0)
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            sec, frac, incl, _ = struct.unpack("<IIII", record)
            data = f.read(incl)
            ip = data[link:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            tcp = ip[ihl:]
            sport, dport, seq = struct.unpack(">HHI", tcp[:8])
            offset = (tcp[12] >> 4) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            payload = tcp[offset:max(offset, total - ihl)]
            if payload:
                yield sec + frac / (1e9 if nano else 1e6), sport, dport, seq, payload


def varint(buf, i):
    value, shift = 0, 0
    while True:
        if i >= len(buf):
            return None, i
        byte = buf[i]
        value |= (byte & 127) << shift
        shift += 7
        i += 1
        if not byte & 128:
            return value, i


def mqtt_packets(buf):
    """Complete MQTT packets at the start of buf, and how many bytes they took."""
    out, i = [], 0
    while i + 2 <= len(buf):
        length, j = varint(buf, i + 1)
        if length is None or j + length > len(buf):
            break
        out.append((buf[i], bytes(buf[j:j + length])))
        i = j + length
    return out, i


def events(path):
    """(time, source port, destination port, first byte, body) of every MQTT packet."""
    streams = collections.defaultdict(bytearray)
    expected = {}
    for t, sport, dport, seq, payload in packets(path):
        flow = (sport, dport)
        if flow in expected and (seq - expected[flow]) % 2**32 > 2**31:
            continue  # a retransmission
        expected[flow] = (seq + len(payload)) % 2**32
        streams[flow] += payload
        parsed, used = mqtt_packets(streams[flow])
        del streams[flow][:used]
        for first, body in parsed:
            yield t, sport, dport, first, body


def publish(first, body):
    """Topic, packet id (QoS > 0) and payload of a PUBLISH."""
    length = struct.unpack(">H", body[:2])[0]
    topic = body[2:2 + length].decode(errors="replace")
    rest, packet_id = body[2 + length:], None
    if (first >> 1) & 3:
        packet_id = struct.unpack(">H", rest[:2])[0]
        rest = rest[2:]
    if rest[:1] != b"{":  # MQTT 5: skip the properties
        length, i = varint(rest, 0)
        rest = rest[i + (length or 0):]
    return topic, packet_id, rest


def quantiles(values):
    values = sorted(values)
    n = len(values)
    pick = lambda q: values[min(n - 1, int(q * n))]
    return "n=%6d p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms" % (
        n, pick(0.5) * 1e3, pick(0.9) * 1e3, pick(0.99) * 1e3, values[-1] * 1e3)


def main(path):
    all_events = list(events(path))
    ports = collections.Counter()
    for _, sport, dport, _, _ in all_events:
        ports[sport] += 1
        ports[dport] += 1
    broker = ports.most_common(1)[0][0]

    sent, delivered, results_out, results_in = {}, {}, {}, {}
    awaiting_ack, acked = {}, {}
    ingest_sent, ack_latency, ack_times = {}, [], collections.defaultdict(list)
    for t, sport, dport, first, body in all_events:
        kind = first >> 4
        if kind == 3:
            topic, packet_id, payload = publish(first, body)
            try:
                value = json.loads(payload)
            except ValueError:
                continue
            if topic.endswith("/reading"):
                key = (topic.split("/")[1], value.get("ts"))
                if dport == broker:
                    sent.setdefault(key, t)
                else:
                    delivered.setdefault(key, t)
                    if packet_id is not None:
                        awaiting_ack[(dport, packet_id)] = key
                        ingest_sent[(dport, packet_id)] = t
            elif "-results/" in topic:
                key = (value.get("key"), value.get("window_end"))
                (results_out if dport == broker else results_in).setdefault(key, t)
        elif kind == 4 and dport == broker:
            packet_id = struct.unpack(">H", body[:2])[0]
            key = awaiting_ack.pop((sport, packet_id), None)
            if key is not None:
                acked.setdefault(key, t)
            start = ingest_sent.pop((sport, packet_id), None)
            if start is not None:
                ack_latency.append(t - start)
                ack_times[sport].append(t)

    stages = collections.defaultdict(list)
    for key, t5 in results_in.items():
        if key not in sent or key not in delivered or key not in results_out:
            continue
        t1, t2, t4 = sent[key], delivered[key], results_out[key]
        stages["1 broker: reading in -> delivered to the daemon"].append(t2 - t1)
        if key in acked:
            stages["2 daemon: reading -> its PUBACK (durable)"].append(acked[key] - t2)
        stages["3 daemon: reading -> result published"].append(t4 - t2)
        stages["4 broker: result in -> at the subscriber"].append(t5 - t4)
        stages["5 total on the wire"].append(t5 - t1)
    print("broker port %d, %d MQTT packets, %d windows matched" % (broker, len(all_events), len(stages["5 total on the wire"])))
    for name in sorted(stages):
        print("%-50s %s" % (name, quantiles(stages[name])))
    if ack_latency:
        print("%-50s %s" % ("daemon PUBACK latency, every reading", quantiles(ack_latency)))
        ingest = max(ack_times, key=lambda port: len(ack_times[port]))
        bursts, last = [], None
        for t in ack_times[ingest]:
            if last is None or t - last > 0.0002:
                bursts.append([t, 0])
            bursts[-1][1] += 1
            last = t
        gaps = [b[0] - a[0] for a, b in zip(bursts, bursts[1:])]
        sizes = sorted(b[1] for b in bursts)
        print("%-50s %s; PUBACKs per burst p50 %d, max %d" % (
            "daemon PUBACK bursts (durable batches), interval", quantiles(gaps), sizes[len(sizes) // 2], sizes[-1]))


if __name__ == "__main__":
    main(sys.argv[1])
