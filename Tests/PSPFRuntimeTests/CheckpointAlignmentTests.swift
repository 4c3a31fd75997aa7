import PSPFLog
import PSPFStorage
import Testing

@testable import PSPFRuntime

@Suite struct CheckpointAlignmentTests {
    private func output(_ partition: Int, _ tag: Int) -> PartitionMessage {
        .output(
            OutputBatch(
                partition: partition, nextOffset: Int64(tag), results: LogBatch(), resultCount: tag,
                deadLetters: LogBatch(), deadLetterCount: 0))
    }

    private func barrier(_ partition: Int, request: Int64, offset: Int64, final: Bool = false) -> PartitionMessage {
        .barrier(
            CheckpointBarrier(
                request: request, partition: partition, nextOffset: offset, state: .init(), isFinal: final,
                snapshotDuration: .zero, keyCount: 0))
    }

    /// Writes are identified by `resultCount` (the tag); cuts by their request.
    private func describe(_ actions: [CheckpointAlignment.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .write(let batch): "w\(batch.partition).\(batch.resultCount)"
            case .cut(let cut): "cut(\(cut.request.map(String.init) ?? "final"))\(cut.isFinal ? "!" : "")"
            }
        }
    }

    @Test func aPartitionPastItsBarrierIsHeldBackUntilTheCut() {
        var alignment = CheckpointAlignment(offsets: [0: 0, 1: 0])
        var log: [String] = []
        log += describe(alignment.receive(output(0, 1)))
        log += describe(alignment.receive(barrier(0, request: 1, offset: 10)))
        log += describe(alignment.receive(output(0, 2)))  // after p0's barrier: held
        log += describe(alignment.receive(output(1, 3)))  // before p1's barrier: written
        #expect(log == ["w0.1", "w1.3"])
        // p1's barrier completes the cut, which comes before p0's held output.
        let actions = alignment.receive(barrier(1, request: 1, offset: 7))
        #expect(describe(actions) == ["cut(1)", "w0.2"])
        if case .cut(let cut) = actions.first {
            #expect(cut.offsets == [0: 10, 1: 7])
            #expect(cut.barriers.map(\.partition).sorted() == [0, 1])
        }
    }

    @Test func finishedPartitionsCountAsAlignedAndTheLastOneCutsFinally() {
        var alignment = CheckpointAlignment(offsets: [0: 5, 1: 5, 2: 5])
        #expect(describe(alignment.receive(barrier(2, request: 0, offset: 9, final: true))).isEmpty)
        #expect(describe(alignment.receive(barrier(0, request: 1, offset: 8))).isEmpty)
        #expect(describe(alignment.receive(output(0, 1))).isEmpty)  // held
        #expect(describe(alignment.receive(barrier(0, request: 1, offset: 12, final: true))).isEmpty)  // held
        #expect(describe(alignment.receive(barrier(1, request: 1, offset: 6))) == ["cut(1)", "w0.1"])
        #expect(describe(alignment.receive(output(1, 2))) == ["w1.2"])
        let last = alignment.receive(barrier(1, request: 1, offset: 20, final: true))
        #expect(describe(last) == ["cut(final)!"])
        if case .cut(let cut) = last.first { #expect(cut.offsets == [0: 12, 1: 20, 2: 9]) }
    }

    @Test func aRequestAnsweredOnlyByFinalBarriersIsTheFinalCut() {
        var alignment = CheckpointAlignment(offsets: [0: 0, 1: 0])
        #expect(describe(alignment.receive(barrier(1, request: 3, offset: 4))).isEmpty)
        #expect(describe(alignment.receive(barrier(0, request: 3, offset: 2, final: true))) == ["cut(3)"])
        #expect(describe(alignment.receive(barrier(1, request: 3, offset: 4, final: true))) == ["cut(final)!"])
    }
}
