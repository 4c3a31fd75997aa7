import Testing
@testable import PSPFLog
