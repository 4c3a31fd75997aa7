import Testing
@testable import PSPFConfig
