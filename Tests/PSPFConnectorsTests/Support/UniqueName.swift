/// A unique suffix so concurrently running tests never share client ids or topics.
func uniqueName(_ base: String) -> String { "\(base)-\(UInt32.random(in: 0...UInt32.max))" }
