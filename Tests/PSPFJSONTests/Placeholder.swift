import Testing
@testable import PSPFJSON
