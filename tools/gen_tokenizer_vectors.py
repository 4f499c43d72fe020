#!/usr/bin/env python3
"""Differential test vectors for the C tokenizers (tests/data/tokenizer_vectors.json).

transformers is not installed here, so this is an independent Python model of the two
slow tokenizers of transformers 4.38.2 (CLIPTokenizer without ftfy, RobertaTokenizer),
written against the same `regex` and `unicodedata` modules the reference used. It is first
checked against every prompt of tests/golden/tokenizer_{clip,roberta}/expected.json, then
run on random strings built to hit the corners the 43 golden prompts do not: Final_Sigma,
U+0130, long s, combining sequences to reorder/compose, Hangul, C* characters, exotic
whitespace, the GPT-2 lookahead, special-token strings, unassigned code points.

    python3 tools/gen_tokenizer_vectors.py [count [seed]] > tests/data/tokenizer_vectors.json
"""
import ctypes
import json
import random
import sys
import unicodedata

import regex

GOLDEN = "tests/golden"

_icu = ctypes.CDLL("libicuuc.so.72")  # ICU 72 = Unicode 15.0, the reference regex module's version
_icu_age = _icu.u_charAge_72
_icu_age.argtypes = [ctypes.c_int32, ctypes.c_uint8 * 4]
_icu_age.restype = None
_CLASSY = regex.compile(r"[\p{L}\p{N}\s]")


def newer_than_unicode15(ch):
    """Assigned after 15.0 but a letter/number/space to the installed (newer) regex module:
    the Python model would disagree with the reference there, so such characters are avoided."""
    v = (ctypes.c_uint8 * 4)()
    _icu_age(ord(ch), v)
    return tuple(v) == (0, 0, 0, 0) and _CLASSY.fullmatch(ch) is not None


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()


def bpe(token, ranks, eow):
    word = list(token[:-1]) + [token[-1] + eow]
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and word[i] == best[0] and word[i + 1] == best[1]:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = out
    return word


def split_specials(text, specials):
    """Leftmost-longest split on the added tokens; specials: {content: (id, lstrip, rstrip)}."""
    pieces, start, i = [], 0, 0
    while i < len(text):
        best = None
        for s in specials:
            if text.startswith(s, i) and (best is None or len(s) > len(best)):
                best = s
        if best is None:
            i += 1
            continue
        if i > start:
            pieces.append(text[start:i])
        pieces.append(best)
        i += len(best)
        start = i
    if start < len(text):
        pieces.append(text[start:])
    for k, p in enumerate(pieces):
        if p in specials:
            _, lstrip, rstrip = specials[p]
            if rstrip and k + 1 < len(pieces):
                pieces[k + 1] = pieces[k + 1].lstrip()
            if lstrip and k > 0:
                pieces[k - 1] = pieces[k - 1].rstrip()
    return [p for p in pieces if p]


class Clip:
    PAT = regex.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
                        regex.IGNORECASE)

    def __init__(self, d, pad):
        self.encoder = json.load(open(d + "/vocab.json", encoding="utf-8"))
        merges = open(d + "/merges.txt", encoding="utf-8").read().strip().split("\n")[1:49152 - 256 - 2 + 1]
        self.ranks = dict(zip([tuple(m.split()) for m in merges], range(len(merges))))
        self.specials = {t: (self.encoder[t], False, False) for t in ["<|startoftext|>", "<|endoftext|>", pad]}
        self.pad_id = self.encoder[pad]

    @staticmethod
    def is_cjk(cp):
        return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
                or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

    def basic(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")):
                continue
            if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
                out.append(" ")
            elif self.is_cjk(cp):
                out.append(" " + ch + " ")
            else:
                out.append(ch)
        text = unicodedata.normalize("NFC", "".join(out))
        return " ".join(" ".join(t.lower() for t in text.strip().split()).split())

    def tokenize(self, text):
        ids = []
        for piece in split_specials(text, self.specials):
            if piece in self.specials:
                ids.append(self.specials[piece][0])
                continue
            for tok in self.PAT.findall(self.basic(piece)):
                if tok in ("<|startoftext|>", "<|endoftext|>"):
                    ids.append(self.encoder[tok])
                    continue
                tok = "".join(BYTE_ENCODER[b] for b in tok.encode("utf-8"))
                ids.extend(self.encoder.get(t, self.encoder["<|endoftext|>"]) for t in bpe(tok, self.ranks, "</w>"))
        return ids


class Roberta:
    PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, d):
        self.encoder = json.load(open(d + "/vocab.json", encoding="utf-8"))
        merges = open(d + "/merges.txt", encoding="utf-8").read().split("\n")[1:-1]
        self.ranks = dict(zip([tuple(m.split()) for m in merges], range(len(merges))))
        self.specials = {t: (self.encoder[t], t == "<mask>", False) for t in ["<s>", "</s>", "<unk>", "<pad>", "<mask>"]}

    def tokenize(self, text):
        ids = []
        for piece in split_specials(text, self.specials):
            if piece in self.specials:
                ids.append(self.specials[piece][0])
                continue
            for tok in self.PAT.findall(piece):
                tok = "".join(BYTE_ENCODER[b] for b in tok.encode("utf-8"))
                ids.extend(self.encoder.get(t, self.encoder["<unk>"]) for t in bpe(tok, self.ranks, ""))
        return ids


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "   \t\n\r",
    ".,;:!?'\"()[]{}-_+=*&^%$#@~`/\\|<>", "'s", "'T", "'re", "'ve", "'M", "'ll", "'d", "'ſ",
    "<|startoftext|>", "<|endoftext|>", "<|ENDOFTEXT|>", "<|ſtartoftext|>", "!", "<s>", "</s>", "<pad>", "<mask>", " <mask>",
    "ΣΑΣ ΟΔΥΣΣΕΥΣ σς Σ. AΣ'Σ", "İI ıi ǅǄǆ ẞß", "ſ", "\u0345\u0399",
    "e\u0301 a\u0308\u0323 o\u031b\u0303 \u0323\u0307s \u1e0b\u0323 \u0958 \u2126 \u212b \u0f73",
    "한국어 \u1100\u1161\u11a8 \u1112\u1161\u11ab", "日本語のテキスト 猫 中文：一只 \uf900 \U0002f800",
    "ＦＵＬＬ １２３ ﬁﬂ", "\u200b\u200c\u200d\u2060\ufeff\u00ad", "\x01\x1c\x1d\x1f\x7f\x85\x9f\ufffd",
    "\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000\x0b\x0c",
    "🐱🚀🔥👍🏽❤️🇰🇷👨\u200d👩\u200d👧", "Привет мир Ελληνικά العربية עברית हिन्दी ไทย",
    "½²³①Ⅻ٣৪", "\U000e0001\U000f0000\U0010fffd\ue000", "\u0378\u0cf3\U00031350\U0001e4d0",
    "&amp; &lt; &#39; cafÃ© â€œ", "“”‘’—–…",
]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.15:
            parts.append(chr(rng.choice([rng.randint(0x20, 0x2FF), rng.randint(0x300, 0x36F), rng.randint(0x370, 0x33FF),
                                         rng.randint(0xAC00, 0xD7A3), rng.randint(0xE000, 0xFFFF),
                                         rng.randint(0x10000, 0x10FFFF)])))
            if 0xD800 <= ord(parts[-1]) <= 0xDFFF or newer_than_unicode15(parts[-1]):
                parts[-1] = "x"
        else:
            pool = rng.choice(POOLS)
            if len(pool) > 3 and rng.random() < 0.5:
                start = rng.randint(0, len(pool) - 1)
                parts.append(pool[start:start + rng.randint(1, 6)])
            else:
                parts.append(pool)
    return "".join(parts)


def check_golden(clip_bang, clip_eos, rob):
    n = 0
    for c in json.load(open(GOLDEN + "/tokenizer_clip/expected.json", encoding="utf-8"))["cases"]:
        assert clip_bang.tokenize(c["prompt"]) == c["ids_hf_noftfy_bangpad"], c["prompt"]
        assert clip_eos.tokenize(c["prompt"]) == c["ids_hf_noftfy"], c["prompt"]
        n += 1
    for c in json.load(open(GOLDEN + "/tokenizer_roberta/expected.json", encoding="utf-8"))["cases"]:
        assert [0] + rob.tokenize(c["prompt"])[:510] + [2] == c["input_ids"], c["prompt"]
        n += 1
    return n


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    clip_bang = Clip(GOLDEN + "/pipeline_t2v/tokenizer", "!")
    clip_eos = Clip(GOLDEN + "/pipeline_t2v/tokenizer", "<|endoftext|>")
    rob = Roberta(GOLDEN + "/pipeline_audioldm/tokenizer")
    n_golden = check_golden(clip_bang, clip_eos, rob)
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261122)
    texts = [random_text(rng).replace("\x00", "") for _ in range(count)]
    # long words: BPE's merge loop over hundreds of symbols
    for n in (300, 1000, 3000):
        texts.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzéøß") for _ in range(n)))
        texts.append("".join(rng.choice("!?.,:;-_~*#") for _ in range(n // 3)) + " " + "ab" * (n // 2))
    cases = []
    for t in texts:
        cases.append({"text": t, "clip_bangpad": clip_bang.tokenize(t), "clip_eospad": clip_eos.tokenize(t),
                      "roberta": rob.tokenize(t)})
    json.dump({"description": "Random strings tokenized by tools/gen_tokenizer_vectors.py, a Python model of "
                              "transformers 4.38.2's slow CLIPTokenizer (no ftfy; pad '!' and pad '<|endoftext|>', "
                              "pipeline_t2v/tokenizer) and RobertaTokenizer (pipeline_audioldm/tokenizer); raw ids "
                              "without BOS/EOS. The model reproduces all %d golden prompt lists." % (3 * 43),
               "python": sys.version.split()[0], "unicodedata": unicodedata.unidata_version,
               "regex": regex.__version__, "cases": cases},
              sys.stdout, ensure_ascii=True, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
