import Testing
@testable import PSPFRuntime
