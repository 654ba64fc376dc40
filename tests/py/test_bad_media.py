"""Files that are not what they claim (docs/media.md, "Errors"): each fails with a clear
``vh.InvalidMediaError`` / ``vh.MediaError`` naming the path (``FileNotFoundError`` for a
missing one), or, where part of the file is good, gives the good frames bit-exact and a clear
error for the rest; never a crash, a hang or unbounded memory.

Every hostile file is opened in a child process with its address space limited
(``RLIMIT_AS``, 2 GiB above what the child uses once videohw is imported) and a timeout, so a
crash or a runaway allocation fails the one test instead of the run. Hostile use of the API
(wrong types, huge indices, four threads on one reader) runs in process.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import random
import struct
import subprocess
import sys
import threading
from typing import Optional

import numpy as np
import pytest

import media_corpus as mc
import mp4_craft as mp
import videohw as vh

pytestmark = pytest.mark.skipif(
    not hasattr(vh, "VideoReader"), reason="this videohw build has no vh.VideoReader yet"
)

HEADROOM = 2 << 30  # address space a child may add to what it has after importing videohw
CHILD_TIMEOUT = 90

# The child: opens `path` with probe and/or VideoReader (software backend), reads the
# requested indices one by one (an error is recorded and the next index still tried), reads
# frame 0 again, and prints one JSON line. Frames are reported by pts and a hash.
CHILD = r"""
import hashlib, json, resource, sys
spec = json.loads(sys.argv[1])
import numpy, videohw as vh
def vm():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
limit = vm() + spec["headroom"]
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
def err(e):
    return {"ok": False, "type": type(e).__name__, "message": str(e)[:3000],
            "mro": [c.__name__ for c in type(e).__mro__],
            "is_vh": isinstance(e, vh.VideoHwError), "is_media": isinstance(e, vh.MediaError),
            "is_invalid": isinstance(e, vh.InvalidMediaError)}
def frame(f):
    rgb = f.rgb
    return {"ok": True, "index": f.index, "pts": f.pts, "damaged": bool(f.damaged),
            "shape": None if rgb is None else list(rgb.shape),
            "sha": None if rgb is None else hashlib.sha1(numpy.ascontiguousarray(rgb)).hexdigest()}
out = {}
path = spec["path"]
if spec.get("probe"):
    try:
        info = vh.probe(path)
        v = info.best_video
        out["probe"] = {"ok": True, "video": v is not None,
                        "size": None if v is None else [v.width, v.height],
                        "frame_count": None if v is None else v.frame_count}
    except BaseException as e:
        out["probe"] = err(e)
if spec.get("read"):
    try:
        r = vh.VideoReader(path, backend="software")
        out["open"] = {"ok": True}
    except BaseException as e:
        out["open"] = err(e)
        r = None
    if r is not None:
        try:
            n = len(r)
            out["len"] = n
        except BaseException as e:
            out["len_error"] = err(e)
            n = 0
        try:
            out["meta_size"] = [r.metadata.width, r.metadata.height]
        except BaseException as e:
            out["meta_error"] = err(e)
        idx = spec.get("indices")
        if idx is None:
            idx = list(range(n)) if n <= 120 else sorted(set(
                list(range(10)) + list(range(n - 10, n)) + list(range(0, n, max(1, n // 10)))))
        out["frames"] = []
        for i in idx:
            try:
                out["frames"].append(dict(frame(r[i]), asked=i))
            except BaseException as e:
                out["frames"].append(dict(err(e), asked=i))
        if n:
            try:
                out["again"] = frame(r[0])
            except BaseException as e:
                out["again"] = err(e)
        r.close()
print("RESULT " + json.dumps(out))
"""


def run_child(
    path: str,
    *,
    probe: bool = True,
    read: bool = True,
    indices: Optional[list] = None,
    timeout: float = CHILD_TIMEOUT,
) -> dict:
    spec = {"path": path, "probe": probe, "read": read, "indices": indices, "headroom": HEADROOM}
    try:
        res = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(spec)],
            capture_output=True,
            timeout=timeout,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path}: no answer within {timeout} s (hang?)")
    tail = res.stderr.decode(errors="replace")[-3000:]
    signal = f", signal {-res.returncode}" if res.returncode < 0 else ""
    assert res.returncode == 0, (
        f"{path}: the child died (exit status {res.returncode}{signal}):\n{tail}"
    )
    lines = [
        ln for ln in res.stdout.decode(errors="replace").splitlines() if ln.startswith("RESULT ")
    ]
    assert lines, f"{path}: the child printed no result:\n{tail}"
    return json.loads(lines[-1][len("RESULT ") :])


def assert_clear_error(
    outcome: dict, path: str, what: str, *, invalid: bool = False, media: bool = True
) -> None:
    """The outcome is an error of the expected family whose message names the path
    (docs/media.md: "Every message names the path")."""
    assert not outcome["ok"], f"{what}: succeeded on {path}; expected an error"
    if invalid:
        assert outcome["is_invalid"], (
            f"{what}: {outcome['type']} ({outcome['mro']}), expected "
            f"InvalidMediaError: {outcome['message']}"
        )
        assert "ValueError" in outcome["mro"]
    elif media:
        assert outcome["is_media"], (
            f"{what}: {outcome['type']} ({outcome['mro']}), expected a "
            f"MediaError: {outcome['message']}"
        )
    else:
        assert outcome["is_vh"], (
            f"{what}: {outcome['type']} ({outcome['mro']}), expected a "
            f"videohw error: {outcome['message']}"
        )
    assert path in outcome["message"], (
        f"{what}: the {outcome['type']} message does not name {path}: {outcome['message']!r}"
    )


def reference_by_pts(path: str) -> dict:
    """pts -> sha1 of ffmpeg's rgb24 picture."""
    ref = mc.reference_rgb(path)
    times = mc.reference_frame_times(path)
    return {
        t.pts: hashlib.sha1(np.ascontiguousarray(ref[i])).hexdigest() for i, t in enumerate(times)
    }


def check_partial_frames(result: dict, path: str, original: str, must_exact: set) -> None:
    """For a damaged copy of ``original``: frames whose pts is in ``must_exact`` (their data
    and everything they depend on are intact) must come back bit-exact; every other request
    gives a frame or a clear videohw error; and the reader still answers r[0] afterwards."""
    ref = reference_by_pts(original)
    problems = []
    for f in result.get("frames", []):
        if f["ok"]:
            if f["pts"] in must_exact and f["sha"] != ref.get(f["pts"]):
                problems.append(
                    f"r[{f['asked']}] pts {f['pts']}: intact frame, pixels differ "
                    f"from ffmpeg's (damaged={f['damaged']})"
                )
        elif f["type"] == "IndexError" and f["asked"] >= result.get("len", 0):
            pass  # beyond the frames the reader found: IndexError is the answer
        elif not f["is_vh"]:
            problems.append(f"r[{f['asked']}]: {f['type']} is no videohw error: {f['message']}")
        elif path not in f["message"]:
            problems.append(
                f"r[{f['asked']}]: {f['type']} message does not name the path: {f['message']!r}"
            )
    if "len_error" in result:
        problems.append(
            f"len(r) failed: {result['len_error']['type']}: {result['len_error']['message']}"
        )
    got = {f["pts"] for f in result.get("frames", []) if f["ok"]}
    missing = sorted(must_exact - got)
    if missing:
        problems.append(
            f"intact frames never returned (pts): {missing[:12]}"
            f"{' ...' if len(missing) > 12 else ''}"
        )
    again = result.get("again")
    if again is not None and 0 in [f["asked"] for f in result["frames"] if f["ok"]]:
        if not again["ok"] or again["sha"] != ref.get(again["pts"]):
            problems.append(f"r[0] after the errors: {again}")
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


def error_summary(result: dict) -> str:
    errs = [f for f in result.get("frames", []) if not f["ok"]]
    return f"{len(errs)} of {len(result.get('frames', []))} reads failed"


# ---- files made here -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad(media_corpus, tmp_path_factory):
    """name -> path of each hostile file (made from corpus files)."""
    d = tmp_path_factory.mktemp("bad_media")
    files = {}

    def put(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        files[name] = str(d / name)

    mp4 = pathlib.Path(media_corpus.path("h264_bf.mp4")).read_bytes()  # moov at the end
    assert mp4.index(b"moov") > mp4.index(b"mdat")
    fast = d / "faststart.mp4"
    subprocess.run(
        [
            mc.FFMPEG,
            "-v",
            "error",
            "-y",
            "-i",
            media_corpus.path("h264_bf.mp4"),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(fast),
        ],
        check=True,
    )
    fast_bytes = fast.read_bytes()
    assert fast_bytes.index(b"moov") < fast_bytes.index(b"mdat")
    files["faststart.mp4"] = str(fast)

    put("empty.mp4", b"")
    put("text.mp4", b"This is not a video.\nJust some text, named .mp4.\n" * 40)
    put("garbage.mkv", random.Random(11).randbytes(200_000))
    for pct in (10, 50, 90):
        put(f"trunc_moov_end_{pct}.mp4", mp4[: len(mp4) * pct // 100])
        put(f"trunc_faststart_{pct}.mp4", fast_bytes[: len(fast_bytes) * pct // 100])
    boxes = mp.parse(mp4)
    put("moov_missing.mp4", mp.serialize([b for b in boxes if b.type != b"moov"]))
    (d / "a_directory.mp4").mkdir()
    files["a_directory.mp4"] = str(d / "a_directory.mp4")

    idr = pathlib.Path(media_corpus.path("idr10.mp4")).read_bytes()  # 60 frames, moov at end
    # every chunk offset past the end of the file
    b = mp.parse(idr)
    offsets = mp.rechunk(b, idr, 10)
    mp.write_stco(mp.child(mp.stbl(b), b"stco"), [o + len(idr) + 1_000_000 for o in offsets])
    put("stco_all_past_end.mp4", mp.serialize(b))
    # only the last chunk (samples 50..59) past the end
    b = mp.parse(idr)
    offsets = mp.rechunk(b, idr, 10)
    put("rechunked.mp4", mp.serialize(b))
    offsets[-1] = len(idr) + 5_000_000
    mp.write_stco(mp.child(mp.stbl(b), b"stco"), offsets)
    put("stco_last_past_end.mp4", mp.serialize(b))
    # 50,000 samples of 1000 bytes described over a ~59 kB mdat
    b = mp.parse(idr)
    table = mp.stbl(b)
    n = 50_000
    for box in table.children:
        if box.type == b"stsz":
            box.payload = mp.full_box(0, 0, n) + struct.pack(f">{n}I", *([1000] * n))
        elif box.type == b"stts":
            box.payload = mp.full_box(0, 1, n, 512)
        elif box.type == b"stsc":
            box.payload = mp.full_box(0, 1, 1, n, 1)
        elif box.type == b"stco":
            box.payload = mp.full_box(0, 1, mp.mdat_payload_offset(idr))
    table.children = [x for x in table.children if x.type not in (b"ctts", b"sdtp")]
    put("stsz_50000.mp4", mp.serialize(b))
    # the IDR of frames 20..29 overwritten with garbage (its 4-byte length prefix kept)
    b = mp.parse(idr)
    sizes = mp.sample_sizes(mp.stbl(b))
    start = mp.read_stco(mp.child(mp.stbl(b), b"stco"))[0] + sum(sizes[:20])
    assert len(mp.read_stco(mp.child(mp.stbl(b), b"stco"))) == 1
    garbled = bytearray(idr)
    garbled[start + 4 : start + sizes[20]] = random.Random(5).randbytes(sizes[20] - 4)
    put("garbled_idr.mp4", bytes(garbled))
    # the container says 8192x8192, the SPS says 176x144
    b = mp.parse(idr)
    entry = next(mp.stbl(b).find(b"stsd", b"avc1"))
    entry.head = entry.head[:24] + struct.pack(">HH", 8192, 8192) + entry.head[28:]
    tkhd = next(mp.video_trak(b).find(b"tkhd"))
    tkhd.payload = tkhd.payload[:-8] + struct.pack(">II", 8192 << 16, 8192 << 16)
    put("container_says_8192.mp4", mp.serialize(b))
    # the SPS says 8192x8192, the container (and the slices) 176x144
    b = mp.parse(idr)
    avcc = mp.child(next(mp.stbl(b).find(b"stsd", b"avc1")), b"avcC")
    avcc.payload = mp.rewrite_avcc_sps(
        avcc.payload, lambda s: mp.rewrite_h264_sps_size(s, 512, 512)
    )
    put("sps_says_8192.mp4", mp.serialize(b))
    # a TS with 10% of random bytes in the middle
    ts = bytearray(pathlib.Path(media_corpus.path("h264_bf.ts")).read_bytes())
    a, z = len(ts) * 45 // 100, len(ts) * 55 // 100
    ts[a:z] = random.Random(7).randbytes(z - a)
    put("corrupt_middle.ts", bytes(ts))
    files["_ts_damage"] = (a, z)
    files["audio_only.m4a"] = media_corpus.path("audio_only.m4a")
    return files


# ---- not media at all --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "empty.mp4",
        "text.mp4",
        "garbage.mkv",
        "moov_missing.mp4",
        "trunc_moov_end_10.mp4",
        "trunc_moov_end_50.mp4",
        "trunc_moov_end_90.mp4",
        "audio_only.m4a",
    ],
)
def test_unreadable_file_is_invalid_media(bad, name):
    path = bad[name]
    result = run_child(path, indices=[0])
    assert_clear_error(result["open"], path, "VideoReader", invalid=True)
    if name == "audio_only.m4a":
        assert "video" in result["open"]["message"].lower(), result["open"]["message"]
        assert result["probe"]["ok"] and not result["probe"]["video"], result["probe"]
    else:
        assert_clear_error(result["probe"], path, "probe", invalid=True)


def test_directory_is_a_media_error(bad):
    path = bad["a_directory.mp4"]
    result = run_child(path)
    assert_clear_error(result["open"], path, "VideoReader")
    assert_clear_error(result["probe"], path, "probe")


def test_missing_path_is_file_not_found(tmp_path):
    path = str(tmp_path / "no such file.mp4")
    result = run_child(path)
    for what in ("open", "probe"):
        o = result[what]
        assert not o["ok"] and "FileNotFoundError" in o["mro"], o
        assert path in o["message"], o["message"]


# ---- partly good files ---------------------------------------------------------------------


def _intact_pts(original: str, usable_bytes: int) -> set:
    """pts of frames whose packet, and every packet before it in decode order, lies wholly
    within the first ``usable_bytes`` bytes (a packet ends where the next one starts)."""
    packets = mc.reference_packets(original)
    ends = [p.pos for p in packets[1:]] + [p.pos + p.size for p in packets[-1:]]
    intact = set()
    for p, end in zip(packets, ends):
        if end > usable_bytes:
            break
        if not p.discard:
            intact.add(p.pts)
    return intact


@pytest.mark.parametrize("pct", [10, 50, 90])
def test_truncated_faststart_mp4(bad, pct):
    """moov first, data cut: the frames that are there decode exactly; the rest fail clearly."""
    path, original = bad[f"trunc_faststart_{pct}.mp4"], bad["faststart.mp4"]
    intact = _intact_pts(original, os.path.getsize(path))
    result = run_child(path)
    if not result["open"]["ok"]:
        # allowed only where the first picture is not there
        assert not intact, f"{path} has {len(intact)} intact frames but: {result['open']}"
        assert_clear_error(result["open"], path, "VideoReader", invalid=True)
        return
    assert result["len"] <= 100
    check_partial_frames(result, path, original, intact)
    if pct >= 50:
        assert intact and 0 in intact  # the test itself is meaningful


def test_chunk_offsets_past_the_end(bad):
    """No sample has data: InvalidMediaError at open or at len(), or every read fails."""
    path = bad["stco_all_past_end.mp4"]
    result = run_child(path, indices=[0, 1, 30, 59])
    if not result["open"]["ok"]:
        assert_clear_error(result["open"], path, "VideoReader", invalid=True)
        return
    if "len_error" in result:
        assert_clear_error(result["len_error"], path, "len(r)", invalid=True)
        return
    assert result["frames"], result
    for f in result["frames"]:
        if f["ok"]:
            assert f["damaged"], f"r[{f['asked']}] returned an undamaged frame from no data: {f}"
        elif not (f["type"] == "IndexError" and f["asked"] >= result["len"]):
            assert_clear_error(f, path, f"r[{f['asked']}]", media=False)


def test_last_chunk_past_the_end_keeps_the_rest(bad, media_corpus):
    path, original = bad["stco_last_past_end.mp4"], bad["rechunked.mp4"]
    # the re-chunked copy is the same stream (the crafting itself is right)
    assert np.array_equal(
        mc.reference_rgb(original), mc.reference_rgb(media_corpus.path("idr10.mp4"))
    )
    times = mc.reference_frame_times(original)
    intact = {t.pts for t in times[:50]}  # chunks 0..4
    # the broken tail first, then good frames: a failed read must not poison the reader
    result = run_child(path, indices=[55, 59, 50, 3, 49, 0, 58, 20])
    assert result["open"]["ok"], result["open"]
    assert result.get("len") in (50, 60), result  # the tail dropped, or listed and failing
    check_partial_frames(
        result, path, original, {p for p in intact if p in {times[i].pts for i in (3, 49, 0, 20)}}
    )
    tail = [f for f in result["frames"] if f["asked"] >= 50]
    assert all((not f["ok"]) or f["damaged"] for f in tail), (
        f"frames 50..59 have no data in the file, yet: {[f for f in tail if f['ok']]}"
    )


def test_reader_keeps_working_after_a_broken_gop(bad, media_corpus):
    """The IDR of frames 20..29 is garbage: those fail clearly (or come back damaged);
    requests before and after still give exact frames."""
    path, original = bad["garbled_idr.mp4"], media_corpus.path("idr10.mp4")
    times = mc.reference_frame_times(original)
    result = run_child(path, indices=[20, 25, 5, 21, 35, 29, 59, 20, 0])
    assert result["open"]["ok"] and result.get("len") == 60, result
    broken = [f for f in result["frames"] if 20 <= f["asked"] < 30]
    assert any((not f["ok"]) or f["damaged"] for f in broken), (
        f"frames decoded from a garbage IDR, none flagged: {broken}"
    )
    check_partial_frames(result, path, original, {times[i].pts for i in (5, 35, 59, 0)})


def test_sample_table_of_50000_entries_over_a_tiny_mdat(bad):
    path = bad["stsz_50000.mp4"]
    result = run_child(path, indices=[0, 1, 30, 59, 1000, 49_999], timeout=120)
    if result["probe"]["ok"]:
        assert result["probe"]["frame_count"] <= 50_000
    else:
        assert_clear_error(result["probe"], path, "probe", invalid=True)
    if not result["open"]["ok"]:
        assert_clear_error(result["open"], path, "VideoReader", invalid=True)
        return
    assert result["len"] <= 50_000
    for f in result["frames"]:
        if not f["ok"] and not (f["type"] == "IndexError" and f["asked"] >= result["len"]):
            assert_clear_error(f, path, f"r[{f['asked']}]", media=False)


def test_container_claims_a_size_the_sps_does_not_have(bad, media_corpus):
    """stsd / tkhd say 8192x8192, the SPS 176x144: frames come out at the SPS size, exact."""
    path = bad["container_says_8192.mp4"]
    original = media_corpus.path("idr10.mp4")
    result = run_child(path)
    if not result["open"]["ok"]:
        assert_clear_error(result["open"], path, "VideoReader", invalid=True)
        return
    ok = [f for f in result["frames"] if f["ok"]]
    assert ok, f"no frame decoded: {error_summary(result)}"
    for f in ok:
        assert f["shape"] == [144, 176, 3], f
    check_partial_frames(
        result, path, original, {t.pts for t in mc.reference_frame_times(original)}
    )


def test_container_size_lie_is_not_reported_as_the_size(bad):
    path = bad["container_says_8192.mp4"]
    result = run_child(path, read=True, indices=[])
    # ffprobe reports the size the bitstream has
    assert mc.video_size(path) == (176, 144)
    assert result["probe"]["ok"] and result["probe"]["size"] == [176, 144], result["probe"]
    assert result.get("meta_size") == [176, 144], result


def test_sps_claims_8192x8192(bad):
    """The SPS says 8192x8192 over 176x144 worth of slices: damaged pictures or a clear
    error; bounded memory. (Two frames only: ffmpeg needs ~0.4 s per 8192x8192 picture.)"""
    path = bad["sps_says_8192.mp4"]
    result = run_child(path, indices=[0, 50], timeout=120)
    if not result["open"]["ok"]:
        assert_clear_error(result["open"], path, "VideoReader", invalid=True)
        return
    for f in result["frames"]:
        if f["ok"]:
            assert f["shape"] in ([8192, 8192, 3], [144, 176, 3]), f
        else:
            assert_clear_error(f, path, f"r[{f['asked']}]", media=False)


def test_ts_with_a_corrupted_middle(bad, media_corpus):
    path = bad["corrupt_middle.ts"]
    original = media_corpus.path("h264_bf.ts")
    damage_start = bad["_ts_damage"][0]
    intact = _intact_pts(original, damage_start)
    # whole GOPs only: a closed GOP before the damage decodes exactly
    keys = [p.pts for p in mc.reference_packets(original) if p.keyframe]
    times = [t.pts for t in mc.reference_frame_times(original)]
    gop_of = {pts: max(k for k in keys if k <= pts) for pts in times}
    next_key = {k: min([x for x in keys if x > k], default=None) for k in keys}
    intact = {
        p
        for p in intact
        if next_key[gop_of[p]] is not None
        and all(q in intact for q in times if gop_of[q] == gop_of[p])
    }
    assert len(intact) >= 25, "the damage is placed too early for this test to mean anything"
    result = run_child(path)
    assert result["open"]["ok"], result["open"]
    check_partial_frames(result, path, original, intact)


# ---- hostile use of the API ----------------------------------------------------------------------


@pytest.fixture
def reader(media_corpus):
    with vh.VideoReader(media_corpus.path("h264_bf.mp4"), backend="software") as r:
        yield r


@pytest.fixture
def ref(media_corpus):
    return mc.reference_rgb(media_corpus.path("h264_bf.mp4"))


def test_wrong_index_types_and_values(reader, ref):
    n = len(reader)
    for bad in (0.0, 3.7, float("nan"), "1", None, object(), (1,), {1: 2}):
        with pytest.raises(TypeError):
            reader[bad]
    for huge in (n, 10**12, 2**63, 2**70, -(2**70)):
        with pytest.raises(IndexError):
            reader[huge]
    for non_iterable in (5, None, object(), 2.5):
        with pytest.raises(TypeError):
            reader.get_frames_at(non_iterable)
    for bad_items in (["a"], [None], [1.5], [0, 2**70]):
        with pytest.raises((TypeError, IndexError)):
            reader.get_frames_at(bad_items)
    for bad_seconds in (["a"], [None], 3):
        with pytest.raises(TypeError):
            reader.get_frames_played_at(bad_seconds)
    for odd in ([float("nan")], [float("inf")], [-1e300]):
        with pytest.raises((ValueError, IndexError, vh.VideoHwError)):
            reader.get_frames_played_at(odd)
    assert np.array_equal(reader[42].rgb, ref[42])  # still fine


def test_four_threads_on_one_reader(reader, ref):
    n = len(reader)
    results, errors, crashes = [], [], []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(12):
            i = rnd.randrange(n)
            try:
                f = reader[i]
                results.append((i, f.index, np.array_equal(f.rgb, ref[i])))
            except vh.VideoHwError as e:
                errors.append((i, repr(e)))
            except BaseException as e:  # noqa: BLE001 - anything else is the failure
                crashes.append((i, repr(e)))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a reader call hung"
    assert not crashes, crashes[:5]
    wrong = [(i, idx) for i, idx, same in results if idx != i or not same]
    assert not wrong, f"concurrent reads returned wrong frames (asked, got index): {wrong[:10]}"
    assert len(results) + len(errors) == 48
    # and afterwards, from one thread, everything is normal again
    assert np.array_equal(reader[7].rgb, ref[7]) and reader[7].index == 7
