import PSPFJSON

/// What a pipeline reads and computes, resolved to slots: the output of ``PipelineAnalyzer``,
/// the input of ``PipelineBuilder``. Slots index the dynamic row; payload fields are decoded
/// into their slots by one ``JSONFieldExtractor`` over `fields`.
struct PipelineLayout: Sendable {
    /// The payload fields to extract, in extractor order.
    var fields: [JSONFieldPath] = []
    /// The slot of each entry of `fields`.
    var fieldSlots: [Int] = []
    /// The schema type of each entry of `fields` (`nil`: no declaration, decoded as found).
    var fieldTypes: [SchemaField?] = []
    /// Indices into `fields` of the schema's fields, in declaration order (checked in this order).
    var schemaChecks: [Int] = []
    /// Index into `fields` of the key field, if the key is a field.
    var keyField: Int?
    /// Index into `fields` of the timestamp field, for event time.
    var timestampField: Int?
    /// Computed values in evaluation order: `compute` entries, then aggregate expressions.
    var computed: [(slot: Int, expression: ExpressionNode, name: String)] = []
    /// The filter, evaluated after the first `filterAfter` entries of `computed`.
    var filter: ExpressionNode?
    var filterAfter = 0
    /// Result columns after the implicit count.
    var aggregates: [Column] = []
    /// Slot of each name expressions may use: payload fields (dotted) and computed names.
    var slotOfName: [FieldName: Int] = [:]
    var slotCount = 0

    struct Column: Sendable {
        var config: AggregateConfig
        /// The slot the column reads; `nil` for the element count.
        var slot: Int?
        /// Read as an exact integer (`sum`/`min`/`max` of a field declared `integer`).
        var integral: Bool
    }

    /// The slot for a payload field, allocated on first use.
    mutating func slot(for path: JSONFieldPath, type: SchemaField?) -> Int {
        if let i = fields.firstIndex(of: path) { return fieldSlots[i] }
        fields.append(path)
        fieldSlots.append(slotCount)
        fieldTypes.append(type)
        slotOfName[FieldName(components: path.components)] = slotCount
        slotCount += 1
        return slotCount - 1
    }

    func fieldIndex(of path: JSONFieldPath) -> Int? { fields.firstIndex(of: path) }
}
