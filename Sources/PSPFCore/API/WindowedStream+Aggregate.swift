// Generated: `aggregate(c1, …, cN)` for N = 1…12 named columns.

extension WindowedStream {
    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn>(_ a: A) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element {
        aggregate(RowAggregator(a))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn>(_ a: A, _ b: B) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, b)))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn>(_ a: A, _ b: B, _ c: C) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, c))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, d)))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, e))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, f)))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, g))))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn, H: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element, H.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, ColumnPair(g, h)))))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn, H: AggregateColumn, I: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H, _ i: I) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element, H.Input == Element, I.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, ColumnPair(g, ColumnPair(h, i))))))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn, H: AggregateColumn, I: AggregateColumn, J: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H, _ i: I, _ j: J) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element, H.Input == Element, I.Input == Element, J.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, ColumnPair(g, ColumnPair(h, ColumnPair(i, j)))))))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn, H: AggregateColumn, I: AggregateColumn, J: AggregateColumn, K: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H, _ i: I, _ j: J, _ k: K) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element, H.Input == Element, I.Input == Element, J.Input == Element, K.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, ColumnPair(g, ColumnPair(h, ColumnPair(i, ColumnPair(j, k))))))))))))
    }

    /// Aggregates each window into named columns (an ``AggregateRow``).
    public func aggregate<A: AggregateColumn, B: AggregateColumn, C: AggregateColumn, D: AggregateColumn, E: AggregateColumn, F: AggregateColumn, G: AggregateColumn, H: AggregateColumn, I: AggregateColumn, J: AggregateColumn, K: AggregateColumn, L: AggregateColumn>(_ a: A, _ b: B, _ c: C, _ d: D, _ e: E, _ f: F, _ g: G, _ h: H, _ i: I, _ j: J, _ k: K, _ l: L) -> Stream<WindowResult<Key, AggregateRow>>
    where A.Input == Element, B.Input == Element, C.Input == Element, D.Input == Element, E.Input == Element, F.Input == Element, G.Input == Element, H.Input == Element, I.Input == Element, J.Input == Element, K.Input == Element, L.Input == Element {
        aggregate(RowAggregator(ColumnPair(a, ColumnPair(b, ColumnPair(c, ColumnPair(d, ColumnPair(e, ColumnPair(f, ColumnPair(g, ColumnPair(h, ColumnPair(i, ColumnPair(j, ColumnPair(k, l)))))))))))))
    }

}
