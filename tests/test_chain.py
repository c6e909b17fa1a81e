"""The change log's hash chain (audit/chain.py) on its own: no database, no Django.

An auditor runs this one file on an export, so its hashing, its verdicts and
the sentences it prints are pinned here exactly, with known answers.
"""

import csv
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit import chain

CREATED = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


def values(seq: int, **fields) -> dict:
    """What the writer hashes for entry `seq` (prev_hash filled in by `build`)."""
    return {
        "seq": seq,
        "created_at": CREATED + timedelta(seconds=seq),
        "actor_id": 7,
        "actor_name": "Pat Owner (po)",
        "action": "signoff.recorded",
        "product_id": 1,
        "release_id": 2,
        "object_type": "approvals.SignOff",
        "object_id": str(seq),
        "object_repr": f"Sign-off {seq}",
        "before": None,
        "after": {"decision": "approve", "revision": 1},
        "reason": "",
        "request_id": "req-1",
        "client_ip": "192.0.2.1",
        **fields,
    }


def build(
    count: int, *, first: int = 1, prev_hash: str = chain.GENESIS_HASH, **fields
) -> list[dict]:
    """A valid run of `count` export documents starting at seq `first`."""
    entries = []
    for seq in range(first, first + count):
        document = chain.entry_document({**values(seq, **fields), "prev_hash": prev_hash})
        document["hash"] = chain.entry_hash(prev_hash, document)
        entries.append(document)
        prev_hash = document["hash"]
    return entries


# --- what is hashed, and how ----------------------------------------------------------


def test_the_document_is_the_hashed_fields_with_the_time_in_utc():
    paris = timezone(timedelta(hours=1))
    document = chain.entry_document(
        {**values(3), "created_at": CREATED.astimezone(paris), "prev_hash": "a" * 64, "hash": "x"}
    )
    assert list(document) == list(chain.HASHED_FIELDS)
    assert document["created_at"] == "2025-03-14T09:26:53.589793Z"
    assert document["prev_hash"] == "a" * 64
    assert "hash" not in document


@pytest.fixture
def server_in_new_york(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_time_is_written_in_utc_whatever_the_server_s_time_zone(server_in_new_york):
    document = chain.entry_document(
        {"created_at": CREATED.astimezone(timezone(timedelta(hours=1)))}
    )
    assert document["created_at"] == "2025-03-14T09:26:53.589793Z"


def test_a_time_already_written_as_text_is_kept_as_it_is():
    document = chain.entry_document({"created_at": "2025-03-14T09:26:53.000001Z"})
    assert document["created_at"] == "2025-03-14T09:26:53.000001Z"


def test_a_missing_field_is_hashed_as_null():
    document = chain.entry_document({"seq": 1, "created_at": CREATED})
    assert document["reason"] is None
    assert document["client_ip"] is None


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_unicode():
    text = chain.canonical_json({"b": [1, {"z": None, "a": "é"}], "a": "“x”"})
    assert text == '{"a":"“x”","b":[1,{"a":"é","z":null}]}'


def test_the_hash_is_sha256_of_the_previous_hash_and_the_canonical_json():
    document = {"seq": 1, "reason": "Zoë"}
    expected = hashlib.sha256(
        (chain.GENESIS_HASH + '{"reason":"Zoë","seq":1}').encode("utf-8")
    ).hexdigest()
    assert chain.entry_hash(chain.GENESIS_HASH, document) == expected


# Pinned: any change to the hashed fields, their spelling or the hash breaks
# every export already in an auditor's hands.
KNOWN_FIRST_HASH = "b65460e753e024794ec953c92caf6e2c83735802c20f68719ea745c9cd566b35"


def test_the_first_entry_hashes_to_a_known_answer():
    [first] = build(1)
    assert first["prev_hash"] == "0" * 64
    assert first["hash"] == KNOWN_FIRST_HASH


# --- walking the chain ------------------------------------------------------------------


def test_a_valid_chain_verifies_with_its_count_range_and_head():
    entries = build(4)
    result = chain.verify_entries(entries)
    assert result.ok
    assert (result.count, result.first_seq, result.last_seq) == (4, 1, 4)
    assert result.head_hash == entries[-1]["hash"]
    assert (result.broken_seq, result.problem, result.gaps) == (None, "", 0)
    assert result.summary() == f"OK: 4 entries, seq 1..4, head hash {entries[-1]['hash']}"


def test_nothing_to_verify_is_ok():
    result = chain.verify_entries([])
    assert result.ok
    assert result.summary() == "OK: 0 entries"


def tampered(entries: list[dict], index: int, **changes) -> list[dict]:
    copy = [dict(entry) for entry in entries]
    copy[index].update(changes)
    return copy


BREAKS = [
    pytest.param(
        lambda e: e[:2] + e[3:],
        3,
        "entry 3 is missing (next is 4)",
        id="one entry deleted",
    ),
    pytest.param(
        lambda e: e[:2] + e[4:],
        3,
        "entry 3..4 is missing (next is 5)",
        id="two entries deleted",
    ),
    pytest.param(
        lambda e: [e[0], e[1], e[1], *e[2:]],
        3,
        "expected seq 3, found seq 2",
        id="an entry repeated",
    ),
    pytest.param(
        lambda e: [e[1], *e[2:]],
        1,
        "entry 1 is missing (next is 2)",
        id="the first entry deleted",
    ),
    pytest.param(
        lambda e: tampered(e, 2, reason="nothing to see"),
        3,
        "hash does not match the entry's contents (entry altered)",
        id="an entry altered",
    ),
    pytest.param(
        lambda e: tampered(e, 2, prev_hash="f" * 64),
        3,
        "prev_hash does not match the previous entry's hash (entry moved or replaced)",
        id="an entry's link replaced",
    ),
    pytest.param(
        lambda e: [e[0], *build(4, first=2, prev_hash="e" * 64)],
        2,
        "prev_hash does not match the previous entry's hash (entry moved or replaced)",
        id="the tail re-hashed onto another chain",
    ),
]


@pytest.mark.parametrize(("tamper", "broken_seq", "problem"), BREAKS)
def test_tampering_is_found_at_the_first_broken_entry(tamper, broken_seq, problem):
    result = chain.verify_entries(tamper(build(5)))
    assert not result.ok
    assert (result.broken_seq, result.problem) == (broken_seq, problem)
    assert result.count == broken_seq - 1
    assert result.summary() == f"BROKEN at seq {broken_seq}: {problem}"


def test_the_verifier_stops_at_the_first_break_and_stays_broken():
    entries = tampered(build(5), 1, reason="altered")
    verifier = chain.ChainVerifier()
    assert verifier.feed(entries[0]) is True
    assert verifier.feed(entries[1]) is False
    assert verifier.feed(entries[2]) is False  # sound, but after a break
    assert (verifier.result.count, verifier.result.broken_seq) == (1, 2)
    assert verifier.result.last_seq == 1
    assert verifier.result.head_hash == entries[0]["hash"]


def test_a_range_is_anchored_on_the_entry_before_it():
    entries = build(6)
    result = chain.verify_entries(entries[3:], first_seq=4, prev_hash=entries[2]["hash"])
    assert (result.ok, result.count, result.first_seq, result.last_seq) == (True, 3, 4, 6)
    wrong_anchor = chain.verify_entries(entries[3:], first_seq=4, prev_hash=chain.GENESIS_HASH)
    assert wrong_anchor.broken_seq == 4


def test_without_an_anchor_the_first_entry_is_taken_as_it_is():
    entries = build(6)
    result = chain.verify_entries(entries[3:], first_seq=None, prev_hash=None)
    assert (result.ok, result.count, result.first_seq) == (True, 3, 4)
    assert (
        chain.verify_entries(
            tampered(entries, 4, prev_hash="f" * 64)[3:], first_seq=None, prev_hash=None
        ).broken_seq
        == 5
    )


def test_gaps_are_counted_when_allowed_and_each_hash_is_still_checked():
    entries = build(8)
    filtered = [entries[0], entries[2], entries[3], entries[6]]
    result = chain.verify_entries(filtered, allow_gaps=True)
    assert (result.ok, result.count, result.gaps) == (True, 4, 2)
    assert (result.first_seq, result.last_seq) == (1, 7)
    assert result.summary() == (
        f"OK: 4 entries, seq 1..7, head hash {entries[6]['hash']} (2 gap(s): a filtered "
        "export; each entry's hash is checked, links only between consecutive entries)"
    )
    altered = tampered(filtered, 3, reason="altered")
    assert chain.verify_entries(altered, allow_gaps=True).broken_seq == 7
    relinked = tampered(filtered, 2, prev_hash="f" * 64)  # seq 4 follows seq 3: linked
    assert chain.verify_entries(relinked, allow_gaps=True).broken_seq == 4


def test_gaps_never_excuse_going_backwards():
    entries = build(4)
    result = chain.verify_entries([entries[0], entries[2], entries[1]], allow_gaps=True)
    assert (result.broken_seq, result.problem) == (4, "expected seq 4, found seq 2")


def test_without_gaps_allowed_a_gap_is_a_missing_entry():
    entries = build(4)
    result = chain.verify_entries([entries[0], entries[2]], allow_gaps=False)
    assert (result.broken_seq, result.problem) == (2, "entry 2 is missing (next is 3)")


def test_a_run_checked_elsewhere_is_taken_over_and_the_walk_goes_on():
    entries = build(6)
    verifier = chain.ChainVerifier()
    assert verifier.feed(entries[0])
    verifier.advance(count=3, last_seq=4, head_hash=entries[3]["hash"])
    assert (verifier.expected_seq, verifier.prev_hash) == (5, entries[3]["hash"])
    assert verifier.feed(entries[4]) and verifier.feed(entries[5])
    result = verifier.result
    assert (result.count, result.first_seq, result.last_seq) == (6, 1, 6)
    assert result.head_hash == entries[5]["hash"]


def test_a_run_taken_over_first_starts_the_range():
    verifier = chain.ChainVerifier()
    verifier.advance(count=3, last_seq=3, head_hash="c" * 64)
    assert (verifier.result.count, verifier.result.first_seq, verifier.result.last_seq) == (3, 1, 3)


def test_taking_over_nothing_changes_nothing():
    entries = build(3)
    verifier = chain.ChainVerifier()
    assert verifier.feed(entries[0])
    verifier.advance(count=0, last_seq=9, head_hash="f" * 64)
    assert (verifier.expected_seq, verifier.prev_hash) == (2, entries[0]["hash"])
    assert (verifier.result.count, verifier.result.last_seq) == (1, 1)
    assert verifier.feed(entries[1])


# --- MACs: a key outside the database binds the chain ------------------------------------

KEYS = {"2025-01": b"first key", "2025-02": b"second key"}


def with_macs(entries: list[dict], key_id: str = "2025-01") -> list[dict]:
    return [
        {**e, "mac_key_id": key_id, "mac": chain.entry_mac(KEYS[key_id], e["hash"])}
        for e in entries
    ]


def test_a_mac_is_hmac_sha256_of_the_entry_hash():
    digest = hmac.new(b"first key", b"ab12", hashlib.sha256).hexdigest()
    assert chain.entry_mac(b"first key", "ab12") == digest


def test_entries_with_good_macs_verify_and_say_so():
    entries = with_macs(build(3))
    result = chain.verify_entries(entries, mac_keys=KEYS)
    assert (result.ok, result.count, result.macs_checked) == (True, 3, True)
    assert result.summary() == (
        f"OK: 3 entries, seq 1..3, head hash {entries[-1]['hash']}, MACs verified"
    )


def test_without_keys_macs_are_not_looked_at():
    result = chain.verify_entries(build(2))
    assert (result.ok, result.macs_checked) == (True, False)
    assert not result.summary().endswith("MACs verified")


def test_a_rotated_key_verifies_the_entries_it_signed():
    entries = build(4)
    rotated = with_macs(entries[:2], "2025-01") + with_macs(entries[2:], "2025-02")
    assert chain.verify_entries(rotated, mac_keys=KEYS).ok


MAC_BREAKS = [
    pytest.param(
        {"mac_key_id": "2024-12"},
        "no MAC under a known key (key id '2024-12'): forged entry",
        id="a key nobody knows",
    ),
    pytest.param(
        {"mac_key_id": None},
        "no MAC under a known key (key id None): forged entry",
        id="no key id",
    ),
    pytest.param(
        {"mac": "0" * 64},
        "MAC does not match the hash (entry forged or re-hashed without the key)",
        id="a MAC that does not match",
    ),
    pytest.param(
        {"mac": None},
        "MAC does not match the hash (entry forged or re-hashed without the key)",
        id="no MAC",
    ),
    pytest.param(
        {"mac_key_id": "2025-02"},
        "MAC does not match the hash (entry forged or re-hashed without the key)",
        id="a MAC under another key than it names",
    ),
]


@pytest.mark.parametrize("index", [0, 1], ids=["the first entry", "a later entry"])
@pytest.mark.parametrize(("changes", "problem"), MAC_BREAKS)
def test_an_entry_without_a_good_mac_is_forged(changes, problem, index):
    entries = tampered(with_macs(build(3)), index, **changes)
    result = chain.verify_entries(entries, mac_keys=KEYS)
    assert (result.broken_seq, result.problem) == (index + 1, problem)


def test_a_chain_rewritten_and_re_hashed_without_the_key_is_found():
    entries = with_macs(build(3))
    forged = build(2, first=2, prev_hash=entries[0]["hash"], reason="rewritten")
    forged = [
        {**e, "mac_key_id": "2025-01", "mac": entries[i + 1]["mac"]} for i, e in enumerate(forged)
    ]
    result = chain.verify_entries([entries[0], *forged], mac_keys=KEYS)
    assert result.broken_seq == 2
    assert result.problem.startswith("MAC does not match the hash")


def test_macs_are_checked_from_the_entry_the_key_was_introduced_at():
    entries = build(2) + with_macs(build(2, first=3, prev_hash=build(2)[-1]["hash"]))
    assert chain.verify_entries(entries, mac_keys=KEYS, mac_since_seq=3).ok
    unsigned_third = tampered(entries, 2, mac=None)
    assert chain.verify_entries(unsigned_third, mac_keys=KEYS, mac_since_seq=3).broken_seq == 3


def test_a_filtered_run_with_macs_says_both():
    entries = with_macs(build(3))
    result = chain.verify_entries([entries[0], entries[2]], allow_gaps=True, mac_keys=KEYS)
    assert result.summary().endswith(
        ", MACs verified (1 gap(s): a filtered export; each entry's hash is checked, "
        "links only between consecutive entries)"
    )


# --- CSV cells that no spreadsheet runs -------------------------------------------------

CELLS = [
    pytest.param(None, "", id="null is an empty cell"),
    pytest.param(42, "42", id="a number"),
    pytest.param("Halted for the card network", "Halted for the card network", id="plain text"),
    pytest.param("=HYPERLINK(1)", "'=HYPERLINK(1)", id="="),
    pytest.param("+1", "'+1", id="+"),
    pytest.param("-1", "'-1", id="-"),
    pytest.param("@SUM(A1)", "'@SUM(A1)", id="@"),
    pytest.param("\tcmd", "'\tcmd", id="tab"),
    pytest.param("\rcmd", "'\rcmd", id="carriage return"),
    pytest.param("'quoted", "''quoted", id="a leading apostrophe is doubled"),
    pytest.param("a=b", "a=b", id="a trigger inside the text is harmless"),
]


@pytest.mark.parametrize(("value", "cell"), CELLS)
def test_csv_cells_are_safe_and_reversible(value, cell):
    assert chain.csv_cell(value) == cell
    if value is not None:
        assert chain.csv_value(cell) == str(value)


def test_a_csv_row_has_every_export_field_in_order_with_json_as_canonical_text():
    [document] = build(1)
    row = chain.csv_row(document)
    assert len(row) == len(chain.EXPORT_FIELDS)
    cells = dict(zip(chain.EXPORT_FIELDS, row, strict=True))
    assert cells["seq"] == "1"
    assert cells["before"] == ""
    assert cells["after"] == '{"decision":"approve","revision":1}'
    assert cells["hash"] == document["hash"]
    assert row[-1] == document["hash"]


# --- export files, as an auditor gets them ---------------------------------------------


def write_json(path, entries, *, filters=None, one_per_line=True, fmt=chain.EXPORT_FORMAT):
    header = {"format": fmt, "version": 1, "head_seq": len(entries), "filters": filters or {}}
    if one_per_line:
        opening = json.dumps(header, separators=(",", ":"))[:-1] + ',"entries":[\n'
        lines = ",\n".join(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries)
        path.write_text(opening + lines + "\n]}\n", encoding="utf-8")
    else:
        path.write_text(json.dumps({**header, "entries": entries}, indent=2), encoding="utf-8")
    return path


def write_csv(path, entries, *, bom=False, trailer=True):
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(chain.EXPORT_FIELDS)
        writer.writerows(chain.csv_row(e) for e in entries)
        if trailer:
            last = entries[-1] if entries else {"seq": None, "hash": None}
            counts = {"count": len(entries), "last_seq": last["seq"], "head_hash": last["hash"]}
            writer.writerow(chain.csv_trailer_row(counts))
    return path


def test_a_json_export_verifies_line_by_line(tmp_path):
    entries = build(3)
    result = chain.verify_export_file(write_json(tmp_path / "log.json", entries))
    assert (result.ok, result.count, result.head_hash) == (True, 3, entries[-1]["hash"])


def test_a_json_export_reformatted_by_another_tool_verifies(tmp_path):
    entries = build(3)
    path = write_json(tmp_path / "log.json", entries, one_per_line=False)
    assert chain.verify_export_file(str(path)).count == 3


def test_an_altered_json_export_is_found(tmp_path):
    entries = tampered(build(3), 1, actor_name="Mallory")
    result = chain.verify_export_file(write_json(tmp_path / "log.json", entries))
    assert result.broken_seq == 2


def test_an_unfiltered_json_export_with_a_gap_is_broken(tmp_path):
    entries = build(3)
    result = chain.verify_export_file(write_json(tmp_path / "log.json", [entries[0], entries[2]]))
    assert result.broken_seq == 2


def test_a_filtered_json_export_reports_its_gaps_unless_contiguous(tmp_path):
    entries = build(3)
    path = write_json(tmp_path / "log.json", [entries[0], entries[2]], filters={"actor": "po"})
    assert (chain.verify_export_file(path).ok, chain.verify_export_file(path).gaps) == (True, 1)
    assert chain.verify_export_file(path, contiguous=True).broken_seq == 2


def test_an_export_starting_later_is_anchored_on_its_own_first_link(tmp_path):
    entries = build(5)
    result = chain.verify_export_file(write_json(tmp_path / "log.json", entries[2:]))
    assert (result.ok, result.first_seq, result.count) == (True, 3, 3)


def test_an_export_starting_at_one_must_start_from_the_genesis_hash(tmp_path):
    entries = build(2, prev_hash="e" * 64)
    result = chain.verify_export_file(write_json(tmp_path / "log.json", entries))
    assert result.broken_seq == 1


def test_an_empty_export_verifies(tmp_path):
    assert chain.verify_export_file(write_json(tmp_path / "log.json", [])).summary() == (
        "OK: 0 entries"
    )
    assert chain.verify_export_file(write_csv(tmp_path / "log.csv", [])).count == 0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"format": "something-else", "entries": []},
            "not a Relapp change-log export (format 'something-else')",
        ),
        (
            {"format": chain.EXPORT_FORMAT, "entries": {}},
            "not a Relapp change-log export (no 'entries' list)",
        ),
    ],
    ids=["another format", "entries not a list"],
)
def test_a_file_that_is_not_a_relapp_export_is_refused(tmp_path, document, message):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document, indent=1))
    with pytest.raises(ValueError) as refused:
        chain.verify_export_file(path)
    assert str(refused.value) == message


def test_a_json_export_is_read_one_entry_at_a_time(tmp_path):
    # Constant memory: verification stops at the first broken entry without
    # reading (or parsing) the rest of a file that may be gigabytes long.
    entries = tampered(build(4), 1, reason="altered")
    path = write_json(tmp_path / "log.json", entries)
    lines = path.read_text().splitlines()
    lines[-2] = "this line is never read"
    path.write_text("\n".join(lines) + "\n")
    result = chain.verify_export_file(path)
    assert (result.broken_seq, result.count) == (2, 1)


def test_a_blank_line_does_not_hide_the_entries_after_it(tmp_path):
    entries = build(3)
    path = write_json(tmp_path / "log.json", entries)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    result = chain.verify_export_file(path)
    assert (result.ok, result.count, result.last_seq) == (True, 3, 3)


def test_a_csv_export_verifies_and_reports_gaps(tmp_path):
    entries = build(4, reason="=cmd|' /C calc'!A0")  # escaped in the file, hashed as it was
    result = chain.verify_export_file(write_csv(tmp_path / "log.csv", entries, bom=True))
    assert (result.ok, result.count) == (True, 4)
    gap = write_csv(tmp_path / "gap.csv", [entries[0], entries[3]])
    assert (chain.verify_export_file(gap).ok, chain.verify_export_file(gap).gaps) == (True, 1)
    assert chain.verify_export_file(gap, contiguous=True).broken_seq == 2


def test_a_line_break_inside_a_csv_cell_survives_the_round_trip(tmp_path):
    entries = build(2, reason="Rolled back:\r\nsee incident 42\n")
    result = chain.verify_export_file(write_csv(tmp_path / "log.csv", entries))
    assert (result.ok, result.count) == (True, 2)


def test_csv_cells_come_back_as_the_values_that_were_hashed(tmp_path):
    [document] = build(1, reason="'quoted", actor_name="-Mallory")
    path = write_csv(tmp_path / "log.csv", [document])
    with path.open(newline="") as handle:
        record = next(csv.DictReader(handle))
    assert record["reason"] == "''quoted"
    assert chain._entry_from_csv(record) == document
    assert chain._entry_from_csv({**record, "client_ip": "", "actor_id": "", "after": ""}) == {
        **document,
        "client_ip": None,
        "actor_id": None,
        "after": None,
    }


def test_a_csv_without_a_hashed_column_is_refused(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("seq,created_at\r\n1,2025-03-14T09:26:53.589793Z\r\n")
    with pytest.raises(ValueError, match="CSV column 'actor_id' is missing"):
        chain.verify_export_file(path)


# --- the command line an auditor runs ---------------------------------------------------


def test_the_command_prints_ok_and_exits_zero(tmp_path, capsys):
    entries = build(2)
    path = write_json(tmp_path / "log.json", entries)
    assert chain.main([str(path)]) == 0
    assert capsys.readouterr().out == (
        f"OK: 2 entries, seq 1..2, head hash {entries[-1]['hash']}\n"
    )


def test_the_command_prints_the_first_broken_entry_and_exits_one(tmp_path, capsys):
    entries = tampered(build(2), 1, reason="altered")
    assert chain.main([str(write_json(tmp_path / "log.json", entries))]) == 1
    assert capsys.readouterr().out.startswith("BROKEN at seq 2: hash does not match")


def test_the_command_refuses_gaps_when_asked_for_a_contiguous_file(tmp_path, capsys):
    entries = build(3)
    path = write_csv(tmp_path / "log.csv", [entries[0], entries[2]])
    assert chain.main([str(path)]) == 0
    assert chain.main(["--contiguous", str(path)]) == 1
    assert chain.main([str(path), "--contiguous"]) == 1


@pytest.mark.parametrize("argv", [[], ["a.json", "b.json"], ["--contiguous"]])
def test_the_command_explains_its_usage(argv, capsys):
    assert chain.main(argv) == 2
    assert capsys.readouterr().err == (
        "usage: python chain.py [--contiguous] EXPORT.json|EXPORT.csv\n"
    )


def test_the_command_reads_its_arguments_from_the_command_line(tmp_path, monkeypatch, capsys):
    path = write_json(tmp_path / "log.json", build(1))
    monkeypatch.setattr("sys.argv", ["chain.py", str(path)])
    assert chain.main() == 0
    assert capsys.readouterr().out.startswith("OK: 1 entries")


# --- trailers: a file cut short is named, not passed -----------------------------------


def write_json_v2(path, entries, *, trailer=None):
    """A version-2 JSON export as audit.export writes it, with `trailer` (None: cut before it)."""
    header = {"format": chain.EXPORT_FORMAT, "version": 2, "head_seq": len(entries), "filters": {}}
    opening = json.dumps(header, separators=(",", ":"))[:-1] + ',"entries":[\n'
    lines = ",\n".join(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries)
    ending = "" if trailer is None else f'\n],"trailer":{json.dumps(trailer)}}}\n'
    path.write_text(opening + lines + ending, encoding="utf-8")
    return path


def test_a_json_export_without_its_trailer_was_cut(tmp_path):
    entries = build(5)
    result = chain.verify_export_file(write_json_v2(tmp_path / "log.json", entries[:3]))
    assert (result.ok, result.broken_seq) == (False, 4)
    assert "ends after seq 3 without its trailer" in result.problem


def test_a_json_export_with_its_trailer_verifies(tmp_path):
    entries = build(3)
    trailer = {"count": 3, "last_seq": 3, "head_hash": entries[-1]["hash"]}
    result = chain.verify_export_file(
        write_json_v2(tmp_path / "log.json", entries, trailer=trailer)
    )
    assert (result.ok, result.count) == (True, 3)


def test_a_trailer_that_promises_more_entries_than_the_file_holds_fails(tmp_path):
    entries = build(5)
    trailer = {"count": 5, "last_seq": 5, "head_hash": entries[-1]["hash"]}
    path = write_json_v2(tmp_path / "log.json", entries[:4], trailer=trailer)
    result = chain.verify_export_file(path)
    assert result.broken_seq == 5
    assert "promises 5 entries up to seq 5, the file holds 4 up to seq 4" in result.problem


def test_an_empty_version_2_export_needs_its_trailer_too(tmp_path):
    assert not chain.verify_export_file(write_json_v2(tmp_path / "a.json", [])).ok
    empty = {"count": 0, "last_seq": None, "head_hash": None}
    assert chain.verify_export_file(write_json_v2(tmp_path / "b.json", [], trailer=empty)).ok


def test_a_csv_export_without_its_trailer_row_was_cut(tmp_path):
    entries = build(4)
    result = chain.verify_export_file(write_csv(tmp_path / "log.csv", entries, trailer=False))
    assert (result.ok, result.broken_seq) == (False, 5)
    assert "without its trailer" in result.problem
    cut = write_csv(tmp_path / "cut.csv", entries[:2], trailer=False)
    assert chain.verify_export_file(cut).broken_seq == 3
