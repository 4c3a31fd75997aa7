import Testing

@testable import PSPFAdmin

@Suite struct ProcessSamplerTests {
    /// utime (field 14) + stime (15), counted after the command name, which may hold spaces and ")".
    @Test func cpuTicksSkipTheCommandName() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 123 456 789\n"
        #expect(ProcessSampler.cpuTicks(statLine: Array(line.utf8)) == 325)
        #expect(ProcessSampler.cpuTicks(statLine: Array("1 (x) S 1 2".utf8)) == nil)
    }

    @Test func statmFields() {
        #expect(
            ProcessSampler.parseFields(Array("10245 2048 512 100 0 900 0\n".utf8)[...]) == [
                10245, 2048, 512, 100, 0, 900, 0,
            ])
    }

    #if os(Linux)
        @Test func samplesThisProcess() {
            let process = ProcessSampler.sample()
            #expect(process.residentBytes > 1 << 20)
            #expect(process.openFiles >= 3)
            #expect(process.cpuSeconds > 0)
        }
    #endif
}
