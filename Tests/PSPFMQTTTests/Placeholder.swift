import Testing
@testable import PSPFMQTT
