import Synchronization
import Testing

@testable import PSPFRuntime

@Suite struct BoundedQueueTests {
    @Test func deliversInOrderAndEndsAfterFinish() async throws {
        let queue = BoundedQueue<Int>(capacity: 4)
        for value in 1...3 { try await queue.send(value) }
        queue.finish()
        var received: [Int] = []
        while let value = await queue.receive() { received.append(value) }
        #expect(received == [1, 2, 3])
    }

    @Test func fullQueueSuspendsTheSenderUntilTheConsumerTakesOne() async throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        try await queue.send(1)
        let delivered = Atomic<Bool>(false)
        let sender = Task {
            try await queue.send(2)
            delivered.store(true, ordering: .sequentiallyConsistent)
        }
        // Wait (without sleeping) until the second send is parked in the queue.
        while queue.count < 2 { await Task.yield() }
        let deliveredEarly = delivered.load(ordering: .sequentiallyConsistent)
        #expect(deliveredEarly == false)
        #expect(await queue.receive() == 1)
        try await sender.value
        let deliveredLater = delivered.load(ordering: .sequentiallyConsistent)
        #expect(deliveredLater)
        #expect(await queue.receive() == 2)
    }

    @Test func sendAfterFinishThrows() async throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        queue.finish()
        await #expect(throws: BoundedQueue<Int>.ClosedError.self) { try await queue.send(1) }
        #expect(await queue.receive() == nil)
    }

    @Test func waitingReceiverGetsTheNextSend() async throws {
        let queue = BoundedQueue<Int>(capacity: 2)
        let receiver = Task { await queue.receive() }
        await Task.yield()
        try await queue.send(7)
        #expect(await receiver.value == 7)
    }
}
