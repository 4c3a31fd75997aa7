import Testing
@testable import PSPFConnectors
