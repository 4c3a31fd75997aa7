import Testing
@testable import PSPFStorage
