import Testing

@testable import PSPFDaemon
