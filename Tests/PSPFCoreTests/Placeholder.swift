import Testing
@testable import PSPFCore
