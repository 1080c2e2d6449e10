#!/usr/bin/env python3
"""Keeps bindings/swift/Sample.swift true to the generated Swift bindings without a Swift compiler.

Usage: check_sample.py GENERATED.swift SAMPLE.swift

Every name the sample uses must resolve: MusterCore types, initialisers and methods with their
argument labels (in order; parameters with defaults may be left out), enum cases and fields. A name
that is neither in the generated bindings, declared in the sample, nor a Swift/Foundation name on
the short list below is reported, so a renamed or removed API fails the check. Platform code the
check cannot know (clocks, sysctl) sits between `drift-check: off` and `drift-check: on`.
"""

import re
import sys

SWIFT_NAMES = {
    # keywords and attributes that can precede "(" or "."
    "if", "for", "while", "switch", "catch", "return", "try", "await", "case", "let", "var", "in",
    "where", "do", "else", "init", "self", "Self", "nil", "true", "false", "throws", "async",
    "func", "final", "class", "actor", "import", "static", "some", "any",
    # standard library and Foundation names the sample uses
    "String", "Int64", "UInt32", "UInt16", "UInt8", "Double", "Bool", "Foundation", "MusterCore",
    "Task", "MainActor", "Sendable", "unchecked", "Error", "print", "map", "count", "first",
    "contains", "isEmpty", "filter",
}

STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
LINE_COMMENT = re.compile(r"//[^\n]*")
TYPE_DECL = re.compile(r"\b(?:class|struct|enum|protocol|actor|typealias)\s+(\w+)")


def interpolations(match):
    """A string literal becomes "" followed by its interpolated expressions, which stay checked."""
    text, exprs, i = match.group(0), [], 0
    while (i := text.find("\\(", i)) >= 0:
        inner = balanced(text, i + 1)
        exprs.append(f"({inner})")
        i += len(inner) + 2
    return '""' + "".join(" " + e for e in exprs)


def clean(src):
    src = BLOCK_COMMENT.sub(" ", src)
    src = STRING.sub(interpolations, src)
    return LINE_COMMENT.sub("", src)


def drift_checked(src):
    kept, on = [], True
    for line in src.splitlines():
        if "drift-check: off" in line:
            on = False
        elif "drift-check: on" in line:
            on = True
        elif on:
            kept.append(line)
    return "\n".join(kept)


def balanced(src, open_at):
    """The text inside the parentheses opening at src[open_at]."""
    depth = 0
    for i in range(open_at, len(src)):
        c = src[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return src[open_at + 1 : i]
    return src[open_at + 1 :]


def split_top(args):
    parts, depth, cur = [], 0, []
    for c in args:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def declared_params(params):
    """[(label, has_default)] of a declaration's parameter list."""
    out = []
    for p in split_top(params):
        head = p.split(":", 1)[0].split()
        if not head:
            continue
        out.append((head[0], "=" in p))
    return out


def call_labels(args):
    labels = []
    for a in split_top(args):
        m = re.match(r"\s*(\w+)\s*:(?!:)", a)
        labels.append(m.group(1) if m else "_")
    return labels


def fits(labels, params, pattern=False):
    """Whether call labels match declared params in order, skipping defaulted ones. In an enum
    case pattern (`case let .jsea(form)`) a bare name binds positionally."""
    i = 0
    for label, has_default in params:
        if i < len(labels) and (labels[i] == label or (pattern and labels[i] == "_")):
            i += 1
        elif not has_default:
            return False
    return i == len(labels)


class Api:
    def __init__(self, src):
        src = clean(src)
        self.types = set(TYPE_DECL.findall(src))
        self.members = set(re.findall(r"\b(?:var|let)\s+(\w+)", src))
        self.cases = {}
        for m in re.finditer(r"\bcase\s+(\w+)\s*(\()?", src):
            params = declared_params(balanced(src, m.end() - 1)) if m.group(2) else []
            self.cases.setdefault(m.group(1), []).append(params)
        self.funcs = {}
        for m in re.finditer(r"\bfunc\s+(\w+)\s*\(", src):
            self.funcs.setdefault(m.group(1), []).append(declared_params(balanced(src, m.end() - 1)))
        self.inits = {}
        owner = None
        for m in re.finditer(r"\b(?:(?:class|struct|enum|protocol|actor)\s+(\w+)|init\s*\()", src):
            if m.group(1):
                owner = m.group(1)
            elif owner:
                self.inits.setdefault(owner, []).append(declared_params(balanced(src, m.end() - 1)))


def check(generated, sample_src):
    api = Api(generated)
    sample = clean(drift_checked(sample_src))
    whole = clean(sample_src)
    local = set(TYPE_DECL.findall(whole))
    local |= set(re.findall(r"\b(?:func|let|var)\s+(\w+)", whole))
    local |= set(re.findall(r"\bcase\s+let\s+\.?\w+\((\w+)\)", sample))
    for m in re.finditer(r"\bfunc\s+\w+\s*\(", sample):
        for label, _ in declared_params(balanced(sample, m.end() - 1)):
            local.add(label)
        local |= {p.split(":", 1)[0].split()[-1] for p in split_top(balanced(sample, m.end() - 1)) if ":" in p}
    local |= set(re.findall(r"\(\s*(\w+)\s*:\s*\[", sample))  # tuple labels in return types
    local |= set(re.findall(r"\b(\w+)\s+in\b", sample))  # closure parameters and loop variables
    problems, used = [], set()

    for m in re.finditer(r"(?<![\w.$])([A-Za-z_]\w*)\s*\(", sample):
        name = m.group(1)
        labels = call_labels(balanced(sample, m.end() - 1))
        if name in api.inits:
            used.add(name)
            if not any(fits(labels, p) for p in api.inits[name]):
                problems.append(f"{name}({', '.join(labels)}:) matches no initialiser in the bindings")
        elif name in api.funcs:
            used.add(name)
        elif name not in local and name not in SWIFT_NAMES and name not in api.types:
            problems.append(f"{name}(...) is neither in the bindings nor declared in the sample")

    for m in re.finditer(r"\.([A-Za-z_]\w*)(\s*\()?", sample):
        name, is_call = m.group(1), m.group(2)
        if is_call:
            labels = call_labels(balanced(sample, m.end() - 1))
            candidates = api.funcs.get(name, []) + api.cases.get(name, [])
            if candidates:
                used.add(name)
                ok = any(fits(labels, p) for p in api.funcs.get(name, []))
                ok = ok or any(fits(labels, p, pattern=True) for p in api.cases.get(name, []))
                if not ok:
                    problems.append(f".{name}({', '.join(l + ':' for l in labels)}) matches no signature in the bindings")
            elif name not in local and name not in SWIFT_NAMES:
                problems.append(f".{name}(...) is not in the bindings")
        elif name in api.members or name in api.cases or name in api.funcs:
            used.add(name)
        elif name not in local and name not in SWIFT_NAMES:
            problems.append(f".{name} is not a field, case or method in the bindings")

    for name in set(re.findall(r"\b([A-Z]\w*)\b", sample)):
        if name in api.types or name in api.cases:
            used.add(name)
        elif name not in local and name not in SWIFT_NAMES:
            problems.append(f"type {name} is not in the bindings")
    return problems, used


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    generated = open(sys.argv[1], encoding="utf-8").read()
    sample = open(sys.argv[2], encoding="utf-8").read()
    problems, used = check(generated, sample)
    for p in sorted(set(problems)):
        print(f"swift sample drift: {p}")
    if problems:
        return 1
    print(f"swift sample: {len(used)} MusterCore names checked against the generated bindings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
