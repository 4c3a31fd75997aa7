import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A scripted MQTT 3.1.1 "broker" on a loopback port, for tests that must observe exactly when
/// the client writes a packet (the real broker cannot show that). Every call blocks with a
/// timeout: run it through ``offPool(_:)``.
final class FakeBroker: @unchecked Sendable {
    let listener: Int32
    let port: Int

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        guard listener >= 0 else { throw FakeBrokerError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { throw FakeBrokerError("bind/listen failed: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(listener) }

    /// Accepts a client, reads its CONNECT and answers CONNACK.
    func acceptClient(sessionPresent: Bool = false, timeout: Double = 30) throws -> FakeConnection {
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { throw FakeBrokerError("no client connected") }
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { throw FakeBrokerError("accept failed") }
        let connection = FakeConnection(fd: fd)
        let connect = try connection.readPacket(timeout: timeout)
        guard connect.type == 1 else { throw FakeBrokerError("expected CONNECT, got \(connect)") }
        try connection.send([0x20, 0x02, sessionPresent ? 1 : 0, 0x00])
        return connection
    }
}

struct FakeBrokerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct Packet: Equatable, CustomStringConvertible {
    var type: UInt8
    var flags: UInt8
    var body: [UInt8]

    var packetID: UInt16? { body.count >= 2 ? UInt16(body[0]) << 8 | UInt16(body[1]) : nil }

    static func ack(_ type: UInt8, _ id: UInt16, flags: UInt8 = 0) -> Packet {
        Packet(type: type, flags: flags, body: [UInt8(id >> 8), UInt8(id & 0xFF)])
    }
    static func puback(_ id: UInt16) -> Packet { ack(4, id) }
    static func pubrec(_ id: UInt16) -> Packet { ack(5, id) }
    static func pubrel(_ id: UInt16) -> Packet { ack(6, id, flags: 2) }
    static func pubcomp(_ id: UInt16) -> Packet { ack(7, id) }

    var encoded: [UInt8] { [type << 4 | flags] + remainingLength(body.count) + body }

    /// A PUBLISH as the broker would send it.
    static func publish(topic: String, payload: String, qos: UInt8, id: UInt16 = 0, dup: Bool = false) -> Packet {
        var body = [UInt8(topic.utf8.count >> 8), UInt8(topic.utf8.count & 0xFF)] + Array(topic.utf8)
        if qos > 0 { body += [UInt8(id >> 8), UInt8(id & 0xFF)] }
        body += Array(payload.utf8)
        return Packet(type: 3, flags: (dup ? 8 : 0) | qos << 1, body: body)
    }

    /// For a PUBLISH: the topic, the packet id and the payload.
    var publishContent: (topic: String, id: UInt16?, payload: String)? {
        guard type == 3, body.count >= 2 else { return nil }
        let length = Int(body[0]) << 8 | Int(body[1])
        let topic = String(decoding: body[2..<(2 + length)], as: UTF8.self)
        var rest = body[(2 + length)...]
        var id: UInt16?
        if (flags >> 1) & 3 > 0 {
            id = UInt16(rest[rest.startIndex]) << 8 | UInt16(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
        }
        return (topic, id, String(decoding: rest, as: UTF8.self))
    }

    var description: String {
        let names = [1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
                     8: "SUBSCRIBE", 9: "SUBACK", 12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT"]
        return "\(names[Int(type)] ?? "type \(type)")(flags \(flags), \(body.count) bytes\(packetID.map { ", id \($0)" } ?? ""))"
    }
}

private func remainingLength(_ value: Int) -> [UInt8] {
    var value = value
    var bytes: [UInt8] = []
    repeat {
        var byte = UInt8(value % 128)
        value /= 128
        if value > 0 { byte |= 0x80 }
        bytes.append(byte)
    } while value > 0
    return bytes
}

final class FakeConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw FakeBrokerError("send failed") }
    }

    func send(_ packet: Packet) throws { try send(packet.encoded) }

    /// Whether the client has written anything not read yet. Non-blocking: the answer is about
    /// bytes already in this socket's receive queue (loopback delivers during the sender's write).
    func hasUnreadInput() -> Bool {
        if !buffer.isEmpty { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// Reads one packet, answering PINGREQ by itself; throws on timeout or EOF.
    func readPacket(timeout: Double = 30) throws -> Packet {
        while true {
            if let packet = try parse() {
                if packet.type == 12 {
                    try send([0xD0, 0x00])
                    continue
                }
                return packet
            }
            try fill(timeout: timeout)
        }
    }

    /// Reads until the client closes the connection; returns the packets it sent before.
    func readUntilClosed(timeout: Double = 30) throws -> [Packet] {
        var packets: [Packet] = []
        while true {
            if let packet = try parse() {
                packets.append(packet)
                continue
            }
            do {
                try fill(timeout: timeout)
            } catch let error as FakeBrokerError where error.description == "closed" {
                return packets
            }
        }
    }

    private func fill(timeout: Double) throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { throw FakeBrokerError("timed out reading from the client") }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { throw FakeBrokerError("closed") }
        buffer += chunk[0..<n]
    }

    private func parse() throws -> Packet? {
        guard buffer.count >= 2 else { return nil }
        var multiplier = 1
        var length = 0
        var index = 1
        while true {
            guard index < buffer.count else { return nil }
            let byte = buffer[index]
            length += Int(byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if byte & 0x80 == 0 { break }
        }
        guard buffer.count >= index + length else { return nil }
        let packet = Packet(type: buffer[0] >> 4, flags: buffer[0] & 0x0F, body: Array(buffer[index..<(index + length)]))
        buffer.removeFirst(index + length)
        return packet
    }
}
