import PSPFJSON
import Testing

/// One hand-written conformance case, named after JSONTestSuite's convention:
/// `y_` must be accepted, `n_` must be rejected, `i_` is implementation-defined and carries PSPF's decision.
struct CorpusCase: Sendable, CustomTestStringConvertible {
    enum Foundation: Sendable {
        /// Foundation's JSONSerialization gives the same verdict.
        case agrees
        /// Foundation accepts what PSPF deliberately rejects (documented in docs/json.md).
        case accepts
    }

    let name: String
    let bytes: [UInt8]
    let accept: Bool
    /// For rejected cases, the expected error code.
    let code: JSONError.Code?
    let foundation: Foundation

    var testDescription: String { name }
}

private func y(_ name: String, _ text: String) -> CorpusCase {
    CorpusCase(name: "y_" + name, bytes: Array(text.utf8), accept: true, code: nil, foundation: .agrees)
}

private func n(_ name: String, _ text: String, _ code: JSONError.Code, foundation: CorpusCase.Foundation = .agrees) -> CorpusCase {
    CorpusCase(name: "n_" + name, bytes: Array(text.utf8), accept: false, code: code, foundation: foundation)
}

private func n(_ name: String, bytes: [UInt8], _ code: JSONError.Code, foundation: CorpusCase.Foundation = .agrees) -> CorpusCase {
    CorpusCase(name: "n_" + name, bytes: bytes, accept: false, code: code, foundation: foundation)
}

private func i(_ name: String, _ text: String, accept: Bool, _ code: JSONError.Code? = nil, foundation: CorpusCase.Foundation = .agrees) -> CorpusCase {
    CorpusCase(name: "i_" + name, bytes: Array(text.utf8), accept: accept, code: code, foundation: foundation)
}

private func i(_ name: String, bytes: [UInt8], accept: Bool, _ code: JSONError.Code? = nil, foundation: CorpusCase.Foundation = .agrees) -> CorpusCase {
    CorpusCase(name: "i_" + name, bytes: bytes, accept: accept, code: code, foundation: foundation)
}

/// Bytes of `"` + content + `"`.
private func quoted(_ content: [UInt8]) -> [UInt8] { [0x22] + content + [0x22] }

private func nested(_ open: String, _ close: String, _ depth: Int) -> String {
    String(repeating: open, count: depth) + String(repeating: close, count: depth)
}

let conformanceCorpus: [CorpusCase] = numberCases + stringCases + structureCases + encodingCases

private let numberCases: [CorpusCase] = [
    y("number_zero", "0"),
    y("number_minus_zero", "-0"),
    y("number_minus_zero_fraction", "-0.0"),
    y("number_int", "123"),
    y("number_negative_int", "-123"),
    y("number_fraction", "1.5"),
    y("number_negative_fraction", "-1.5"),
    y("number_zero_fraction", "0.5"),
    y("number_exp_lower", "1e2"),
    y("number_exp_upper", "1E2"),
    y("number_exp_plus", "1e+2"),
    y("number_exp_upper_plus", "1E+2"),
    y("number_exp_minus", "1e-2"),
    y("number_fraction_exp", "1.5e3"),
    y("number_zero_exp", "0e0"),
    y("number_zero_exp_upper_minus", "0E-0"),
    y("number_exp_leading_zero", "1e01"),
    y("number_int64_max", "9223372036854775807"),
    y("number_int64_min", "-9223372036854775808"),
    y("number_beyond_int64", "123456789012345678901234567890"),
    y("number_double_max", "1.7976931348623157e308"),
    y("number_double_max_rounds_down", "1.7976931348623158e308"),
    y("number_double_min_subnormal", "4.9e-324"),
    y("number_double_min_normal", "2.2250738585072014e-308"),
    y("number_1e308", "1e308"),
    y("number_many_digits", "3.14159265358979323846264338327950288419716939937510"),
    y("number_in_array", "[1,-2,3.5,4e1]"),
    y("number_whitespace_around", " 42 "),
    y("number_zero_huge_exp", "0e99999999999999999999"),
    y("number_negative_exp_huge_zero", "-0.0e-99999"),
    y("number_long_zeros_fraction", "1.0000000000000000000000000000000000"),
    n("number_leading_zero", "01", .invalidNumber),
    n("number_negative_leading_zero", "-01", .invalidNumber),
    n("number_double_zero", "00", .invalidNumber),
    n("number_leading_zero_in_array", "[012]", .invalidNumber),
    n("number_trailing_dot", "1.", .unexpectedEnd),
    n("number_trailing_dot_in_array", "[1.]", .invalidNumber),
    n("number_leading_dot", ".1", .unexpectedByte),
    n("number_leading_dot_in_array", "[.5]", .unexpectedByte),
    n("number_minus_only", "-", .unexpectedEnd),
    n("number_minus_in_array", "[-]", .invalidNumber),
    n("number_plus", "+1", .unexpectedByte),
    n("number_exp_no_digits", "1e", .unexpectedEnd),
    n("number_exp_plus_no_digits", "1e+", .unexpectedEnd),
    n("number_exp_minus_no_digits_in_array", "[1e-]", .invalidNumber),
    n("number_dot_exp", "1.e5", .invalidNumber),
    n("number_minus_letter", "-a", .invalidNumber),
    n("number_hex", "0x10", .trailingContent),
    n("number_infinity", "Infinity", .unexpectedByte),
    n("number_negative_infinity", "-Infinity", .invalidNumber),
    n("number_nan", "NaN", .unexpectedByte),
    n("number_two_dots", "[2.3.4]", .unexpectedByte),
    n("number_exp_fraction", "[1e5.5]", .unexpectedByte),
    n("number_double_minus", "--1", .invalidNumber),
    n("number_double_exp", "1ee5", .invalidNumber),
    n("number_minus_space", "- 1", .invalidNumber),
    n("number_space_inside", "[1 000]", .unexpectedByte),
    n("number_comma_decimal", "1,5", .trailingContent),
    n("number_zero_dot", "0.", .unexpectedEnd),
    n("number_exp_dot", "1e1.5", .trailingContent),
    n("number_leading_plus_in_array", "[+1]", .unexpectedByte),
    n("number_fullwidth_digit", "[\u{FF11}]", .unexpectedByte),
    // RFC 8259 §6 lets implementations limit the range; PSPF and Foundation reject numbers that
    // would be infinite as a Double, and accept those that underflow to zero.
    i("number_huge_exp", "1e400", accept: false, .numberOutOfRange),
    i("number_negative_huge_exp", "-1e400", accept: false, .numberOutOfRange),
    i("number_double_max_rounds_up", "1.7976931348623159e308", accept: false, .numberOutOfRange),
    i("number_huge_exp_in_object", #"{"unused":1E+999,"x":1}"#, accept: false, .numberOutOfRange),
    i("number_400_digit_integer", "1" + String(repeating: "0", count: 400), accept: false, .numberOutOfRange),
    i("number_very_huge_exp", "[1e99999999999999999999]", accept: false, .numberOutOfRange),
    i("number_tiny_exp", "1e-400", accept: true),
    i("number_tiny_exp_negative", "-1e-99999999999999999999", accept: true),
    i("number_below_subnormal", "2e-324", accept: true),
    i("number_400_digit_integer_scaled_down", "1" + String(repeating: "0", count: 400) + "e-300", accept: true),
]

private let stringCases: [CorpusCase] = [
    y("string_empty", #""""#),
    y("string_ascii", #""abc""#),
    y("string_escaped_quote", #""\"""#),
    y("string_escaped_backslash", #""\\""#),
    y("string_escaped_slash", #""\/""#),
    y("string_short_escapes", #""\b\f\n\r\t""#),
    y("string_unicode_escape", #""\u0041""#),
    y("string_unicode_escape_latin", #""\u00e9""#),
    y("string_unicode_escape_upper_hex", #""\u00E9\uABCD""#),
    y("string_surrogate_pair", #""\uD83D\uDE00""#),
    y("string_surrogate_pair_mixed_case", #""\uD834\uDd1e""#),
    y("string_escaped_nul", #""\u0000""#),
    y("string_escaped_noncharacter", #""\uFFFF""#),
    y("string_escaped_last_scalar", #""\uDBFF\uDFFF""#),
    y("string_raw_two_byte", "\"é\""),
    y("string_raw_three_byte", "\"€\""),
    y("string_raw_four_byte", "\"😀\""),
    y("string_raw_del", "\"\u{7F}\""),
    y("string_raw_line_separator", "\"\u{2028}\u{2029}\""),
    CorpusCase(name: "y_string_raw_noncharacters", bytes: quoted([0xEF, 0xBF, 0xBF, 0xEF, 0xB7, 0x90]), accept: true, code: nil, foundation: .agrees),
    y("string_raw_last_scalar", "\"\u{10FFFF}\""),
    y("string_long_ascii", "\"" + String(repeating: "abcdefgh", count: 20) + "\""),
    y("string_quote_after_eight", #""abcdefgh\"ijk""#),
    y("string_escape_at_word_boundary", #""1234567\n""#),
    y("string_structural_chars", #"["{[]}:,"]"#),
    y("string_comment_like", #""/* not a comment */""#),
    y("string_single_quote", #""'""#),
    n("string_unterminated", #""abc"#, .unexpectedEnd),
    n("string_unterminated_escape", #""abc\"#, .unexpectedEnd),
    n("string_raw_tab", "\"a\tb\"", .controlCharacter),
    n("string_raw_newline", "\"a\nb\"", .controlCharacter),
    n("string_raw_nul_in_array", "[\"a\u{0}b\"]", .controlCharacter),
    n("string_raw_unit_separator", "\"\u{1F}\"", .controlCharacter),
    n("string_raw_control_long", "\"abcdefghijklm\u{1}nopqrstuvw\"", .controlCharacter),
    n("string_escape_a", #""\a""#, .invalidEscape),
    n("string_escape_x", #""\x41""#, .invalidEscape),
    n("string_escape_upper_u", #""\U0041""#, .invalidEscape),
    n("string_escape_apostrophe", #""\'""#, .invalidEscape),
    n("string_escape_zero", #""\0""#, .invalidEscape),
    n("string_unicode_short", #""\u00""#, .invalidEscape),
    n("string_unicode_short_end", #""\u00"#, .unexpectedEnd),
    n("string_unicode_bad_hex", #""\u00G0""#, .invalidEscape),
    n("string_escape_raw_utf8", "\"\\é\"", .invalidEscape),
    n("string_single_quoted", "'a'", .unexpectedByte),
    n("string_single_quoted_key", "{'a':1}", .unexpectedByte),
    n("string_unquoted", "abc", .unexpectedByte),
    n("string_lone_continuation", bytes: quoted([0x80]), .invalidUTF8),
    n("string_overlong_slash_2", bytes: quoted([0xC0, 0xAF]), .invalidUTF8),
    n("string_overlong_c1", bytes: quoted([0xC1, 0xBF]), .invalidUTF8),
    n("string_overlong_3", bytes: quoted([0xE0, 0x80, 0xAF]), .invalidUTF8),
    n("string_overlong_4", bytes: quoted([0xF0, 0x80, 0x80, 0xAF]), .invalidUTF8),
    n("string_utf8_high_surrogate", bytes: quoted([0xED, 0xA0, 0x80]), .invalidUTF8),
    n("string_utf8_low_surrogate", bytes: quoted([0xED, 0xBF, 0xBF]), .invalidUTF8),
    n("string_utf8_surrogate_pair", bytes: quoted([0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]), .invalidUTF8),
    n("string_above_10ffff", bytes: quoted([0xF4, 0x90, 0x80, 0x80]), .invalidUTF8),
    n("string_f5_lead", bytes: quoted([0xF5, 0x80, 0x80, 0x80]), .invalidUTF8),
    n("string_five_byte_form", bytes: quoted([0xF8, 0x88, 0x80, 0x80, 0x80]), .invalidUTF8),
    n("string_ff", bytes: quoted([0xFF]), .invalidUTF8),
    n("string_fe", bytes: quoted([0x61, 0xFE, 0x61]), .invalidUTF8),
    n("string_truncated_two_byte", bytes: quoted([0xC3]), .invalidUTF8),
    n("string_truncated_three_byte", bytes: quoted([0xE2, 0x82]), .invalidUTF8),
    n("string_bad_continuation", bytes: quoted([0xC3, 0x28]), .invalidUTF8),
    n("string_bad_third_byte", bytes: quoted([0xE2, 0x82, 0x28]), .invalidUTF8),
    n("string_invalid_utf8_after_eight_ascii", bytes: quoted(Array("abcdefghij".utf8) + [0xC3, 0x28]), .invalidUTF8),
    n("string_invalid_utf8_in_key", bytes: Array(#"{""#.utf8) + [0xFF] + Array(#"":1}"#.utf8), .invalidUTF8),
    n("string_truncated_at_end_of_input", bytes: [0x22, 0xE2, 0x82], .invalidUTF8),
    // RFC 8259 §7's grammar allows any \uXXXX, but §8.2 calls unpaired surrogates unpredictable.
    // They cannot become a Swift String; PSPF rejects them, as Foundation does.
    i("string_lone_high_surrogate", #""\uD800""#, accept: false, .unpairedSurrogate),
    i("string_lone_low_surrogate", #""\uDC00""#, accept: false, .unpairedSurrogate),
    i("string_high_surrogate_then_letter", #""\uD800\u0041""#, accept: false, .unpairedSurrogate),
    i("string_two_high_surrogates", #""\uD800\uD800""#, accept: false, .unpairedSurrogate),
    i("string_high_surrogate_then_raw", #""\uDBFFx""#, accept: false, .unpairedSurrogate),
    i("string_reversed_pair", #""\uDE00\uD83D""#, accept: false, .unpairedSurrogate),
    i("string_lone_surrogate_in_key", #"{"\uD800":1}"#, accept: false, .unpairedSurrogate),
]

private let structureCases: [CorpusCase] = [
    y("structure_empty_object", "{}"),
    y("structure_empty_array", "[]"),
    y("structure_nested_empty_array", "[[]]"),
    y("structure_empty_object_with_space", "{ }"),
    y("structure_empty_array_with_space", "[ \n ]"),
    y("structure_object_in_object", #"{"a":{}}"#),
    y("structure_mixed", #"{"a":[1,{"b":null}],"c":true,"d":false,"e":"x"}"#),
    y("structure_true", "true"),
    y("structure_false", "false"),
    y("structure_null", "null"),
    y("structure_top_level_string", #""x""#),
    y("structure_all_whitespace_kinds", " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2 \t\n\r] \t\n\r"),
    y("structure_empty_key", #"{"":1}"#),
    y("structure_two_members", #"{"a":1,"b":2}"#),
    y("structure_spaces_everywhere", #"{ "a" : 1 , "b" : [ 1 , 2 ] }"#),
    y("structure_newlines", "[\n1\n,\n2\n]"),
    y("structure_escaped_key", #"{"\u0061":1}"#),
    y("structure_brace_in_string", #"{"a":"}"}"#),
    y("structure_deep_nesting_mixed", #"[1,[2,[3,{"a":[4]}]]]"#),
    y("structure_depth_512_arrays", nested("[", "]", 512)),
    y("structure_depth_512_objects", String(repeating: #"{"a":"#, count: 511) + "{}" + String(repeating: "}", count: 511)),
    y("structure_array_of_literals", "[true,false,null]"),
    y("structure_trailing_whitespace", "{} \n"),
    // RFC 8259 §4: names SHOULD be unique; behaviour with duplicates is left open. Accepted, last wins.
    i("structure_duplicate_keys", #"{"a":1,"a":2}"#, accept: true),
    i("structure_duplicate_keys_nested", #"{"a":{"b":1},"a":{"c":2}}"#, accept: true),
    n("structure_empty_input", "", .unexpectedEnd),
    n("structure_only_whitespace", " \n\t ", .unexpectedEnd),
    n("structure_open_array", "[", .unexpectedEnd),
    n("structure_close_array", "]", .unexpectedByte),
    n("structure_open_object", "{", .unexpectedEnd),
    n("structure_close_object", "}", .unexpectedByte),
    n("structure_unclosed_array", "[1", .unexpectedEnd),
    n("structure_unclosed_array_comma", "[1,", .unexpectedEnd),
    n("structure_leading_comma", "[,1]", .unexpectedByte),
    n("structure_double_comma", "[1,,2]", .unexpectedByte),
    n("structure_only_comma", "[,]", .unexpectedByte),
    n("structure_missing_comma", "[1 2]", .unexpectedByte),
    n("structure_key_without_value", #"{"a"}"#, .unexpectedByte),
    n("structure_colon_without_value", #"{"a":}"#, .unexpectedByte),
    n("structure_missing_colon", #"{"a" 1}"#, .unexpectedByte),
    n("structure_unquoted_key", "{a:1}", .unexpectedByte),
    n("structure_number_key", "{1:1}", .unexpectedByte),
    n("structure_null_key", "{null:1}", .unexpectedByte),
    n("structure_object_only_comma", "{,}", .unexpectedByte),
    n("structure_missing_member_comma", #"{"a":1 "b":2}"#, .unexpectedByte),
    n("structure_semicolon", #"{"a":1;"b":2}"#, .unexpectedByte),
    n("structure_double_colon", #"{"a"::1}"#, .unexpectedByte),
    n("structure_extra_close_array", "[1]]", .trailingContent),
    n("structure_extra_close_object", #"{"a":1}}"#, .trailingContent),
    n("structure_mismatched_brackets", "[1}", .unexpectedByte),
    n("structure_mismatched_braces", #"{"a":1]"#, .unexpectedByte),
    n("structure_unclosed_nested", "[[1]", .unexpectedEnd),
    n("structure_garbage_after_array", "[1]x", .trailingContent),
    n("structure_two_values", "1 2", .trailingContent),
    n("structure_two_literals", "true false", .trailingContent),
    n("structure_two_objects", "{}{}", .trailingContent),
    n("structure_two_arrays", "[] []", .trailingContent),
    n("structure_truncated_null", "nul", .unexpectedEnd),
    n("structure_truncated_true", "tru", .unexpectedEnd),
    n("structure_true_with_suffix", "truex", .trailingContent),
    n("structure_capital_true", "True", .unexpectedByte),
    n("structure_capital_null", "NULL", .unexpectedByte),
    n("structure_wrong_literal", "[nil]", .unexpectedByte),
    n("structure_block_comment", "/* c */ []", .unexpectedByte),
    n("structure_line_comment_after", "[] // c", .trailingContent),
    n("structure_hash_comment", "# c\n[]", .unexpectedByte),
    n("structure_comment_inside", "[1 /* c */]", .unexpectedByte),
    n("structure_form_feed_whitespace", "\u{0C}[]", .unexpectedByte),
    n("structure_vertical_tab_whitespace", "[\u{0B}1]", .unexpectedByte),
    n("structure_nbsp_whitespace", "[1\u{00A0}]", .unexpectedByte),
    n("structure_line_separator_whitespace", "[\u{2028}1]", .unexpectedByte),
    n("structure_ideographic_space", "\u{3000}1", .unexpectedByte),
    n("structure_unclosed_object_value", #"{"a":1"#, .unexpectedEnd),
    n("structure_unclosed_key", #"{"a"#, .unexpectedEnd),
    n("structure_key_then_end", #"{"a""#, .unexpectedEnd),
    n("structure_array_of_colon", "[:]", .unexpectedByte),
    n("structure_equals_instead_of_colon", #"{"a"=1}"#, .unexpectedByte),
    n("structure_depth_513_arrays", nested("[", "]", 513), .tooDeep),
    n("structure_depth_513_objects", String(repeating: #"{"a":"#, count: 512) + "{}" + String(repeating: "}", count: 512), .tooDeep),
    n("structure_depth_10000_unclosed", String(repeating: "[", count: 10_000), .tooDeep),
    n("structure_nul_after_value_in_array", "[1\u{0}]", .unexpectedByte),
    // Foundation accepts trailing commas (swift-corelibs-foundation's parser allows them on purpose);
    // RFC 8259 does not.
    n("structure_array_trailing_comma", "[1,]", .unexpectedByte, foundation: .accepts),
    n("structure_array_trailing_comma_space", "[1, ]", .unexpectedByte, foundation: .accepts),
    n("structure_object_trailing_comma", #"{"a":1,}"#, .unexpectedByte, foundation: .accepts),
    n("structure_nested_trailing_comma", #"{"a":[1,2,],"b":1}"#, .unexpectedByte, foundation: .accepts),
    n("structure_trailing_comma_in_empty_object_value", #"{"a":{},}"#, .unexpectedByte, foundation: .accepts),
]

private let encodingCases: [CorpusCase] = [
    y("encoding_utf8_key_and_value", #"{"température":"21,5 °C"}"#),
    // RFC 8259 §8.1: JSON exchanged between systems MUST be UTF-8 without a BOM; a parser MAY ignore
    // a BOM. PSPF treats the payload bytes literally and rejects it; Foundation skips it.
    i("encoding_utf8_bom_object", bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8), accept: false, .unexpectedByte, foundation: .accepts),
    i("encoding_utf8_bom_number", bytes: [0xEF, 0xBB, 0xBF] + Array("1".utf8), accept: false, .unexpectedByte, foundation: .accepts),
    n("encoding_bom_only", bytes: [0xEF, 0xBB, 0xBF], .unexpectedByte),
    n("encoding_bom_in_middle", bytes: Array("[1,".utf8) + [0xEF, 0xBB, 0xBF] + Array("2]".utf8), .unexpectedByte),
    // Foundation auto-detects UTF-16 and UTF-32; RFC 8259 requires UTF-8.
    n("encoding_utf16le", bytes: [0x5B, 0x00, 0x31, 0x00, 0x5D, 0x00], .unexpectedByte, foundation: .accepts),
    n("encoding_utf16be", bytes: [0x00, 0x5B, 0x00, 0x31, 0x00, 0x5D], .unexpectedByte, foundation: .accepts),
    n("encoding_utf16le_bom", bytes: [0xFF, 0xFE, 0x31, 0x00], .unexpectedByte, foundation: .accepts),
    n("encoding_utf16be_bom", bytes: [0xFE, 0xFF, 0x00, 0x31], .unexpectedByte, foundation: .accepts),
    n("encoding_utf32le", bytes: [0x31, 0x00, 0x00, 0x00], .trailingContent, foundation: .accepts),
    n("encoding_nul_after_number", bytes: [0x31, 0x00], .trailingContent, foundation: .accepts),
    n("encoding_latin1_string", bytes: quoted([0x63, 0x61, 0x66, 0xE9]), .invalidUTF8),
    n("encoding_raw_utf8_outside_string", "[é]", .unexpectedByte),
]
