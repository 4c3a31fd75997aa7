/// What an HTTP sink does with a response: done, try again later, or give up on the batch.
///
/// | status | class |
/// | --- | --- |
/// | 2xx | delivered |
/// | 408, 425, 429, 5xx | retry (honouring `Retry-After`) |
/// | other 4xx | rejected: to the dead letters with the status and a body excerpt |
/// | 1xx, 3xx | rejected (redirects are not followed for POSTed batches) |
public enum HTTPResponseClass: Sendable, Equatable {
    case delivered
    case retry(after: Duration?)
    case rejected

    public init(status: Int, retryAfter: String?, now: Int64) {
        switch status {
        case 200..<300: self = .delivered
        case 408, 425, 429, 500..<600: self = .retry(after: retryAfter.flatMap { RetryAfter.parse($0, now: now) })
        default: self = .rejected
        }
    }
}

/// Parses a `Retry-After` header: delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now` (epoch milliseconds).
public enum RetryAfter {
    /// Longest delay honoured; a misconfigured server must not park a sink for days.
    public static let maximum: Duration = .seconds(3600)

    public static func parse(_ value: String, now: Int64) -> Duration? {
        let text = value.trimmingSpaces
        if let seconds = Int64(text), seconds >= 0 {
            return min(.seconds(seconds), maximum)
        }
        guard let date = parseIMFFixdate(text) else { return nil }
        let delta = max(0, date - now)
        return min(.milliseconds(delta), maximum)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's preferred format) → epoch milliseconds.
    static func parseIMFFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]),
            let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int64(parts[3])
        else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int64($0) }
        guard time.count == 3 else { return nil }
        let days = daysFromCivil(year: year, month: Int64(monthIndex + 1), day: day)
        return ((days * 24 + time[0]) * 60 + time[1]) * 60_000 + time[2] * 1000
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
