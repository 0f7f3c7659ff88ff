/// The fail-closed check every rendered message passes before it is emitted.
enum MessageText {
    /// False when the text holds an unfilled placeholder (`{{`, `}}`), a stub in brackets, "()",
    /// or a word like "None"/"null"/"undefined" that betrays a missing value.
    static func isClean(_ s: String) -> Bool {
        if s.contains("{{") || s.contains("}}") || s.contains("()") || s.contains("( )") { return false }
        if s.contains("[") || s.contains("]") { return false }
        var word = ""
        for ch in s {
            if ch.isLetter {
                word.append(ch)
            } else {
                if bad(word) { return false }
                word = ""
            }
        }
        return !bad(word)
    }

    private static func bad(_ w: String) -> Bool {
        switch w {
        case "None", "null", "NULL", "undefined", "NaN": return true
        default: return false
        }
    }
}
