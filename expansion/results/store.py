"""A run directory's results: the trials table, the kept path, the final architecture and, for
a search to several targets, each target's member.

Every finished trial is appended to `trials.parquet` and `trials.csv` (the same rows; CSV for
eyes and spreadsheets). Each file is replaced atomically: the new table is written to a hidden
temporary file beside it, flushed to disk with fsync, and renamed over the old one with
`os.replace`, so a reader (or a resumed run) sees either the old table or the new one, never a
torn file, whatever instant the writer is killed at. Parquet is written first and is the
authoritative copy: if a kill lands between the two renames, the Parquet table holds one more row
than the CSV and wins. The CSV is read only when the Parquet file is missing or unreadable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow

from expansion.errors import UserError
from expansion.results.architecture import save_architecture
from expansion.results.atomic import write_atomically
from expansion.results.evidence import LEAD_COLUMNS, step_leads
from expansion.search.records import SEED_AXIS, Member, TrialOutcome, TrialRecord, TrialSpec
from search_spaces import SearchSpace

TRIALS_PARQUET = "trials.parquet"
TRIALS_CSV = "trials.csv"
PATH_CSV = "path.csv"
FINAL_YAML = "final.yaml"
RETIRED_TRIALS_CSV = "retired_trials.csv"
MEMBERS_CSV = "members.csv"
HARDWARE_CSV = "hardware.csv"  # the search's own measurements for hardware targets

# path.csv: the kept model of each step, then its configuration's fields.
PATH_COLUMNS = ("step", "trial_id", "phase", "axis", "gflops", "params_m", "top1", "top5")
# members.csv: one row per target, then the member's configuration's fields.
MEMBER_COLUMNS = ("member", "target_gflops", *PATH_COLUMNS, "note", "file")
# final.yaml: a hardware target, the final model's measured figure and its share of the target
HARDWARE_KEYS = (
    *("target_latency_ms", "latency_ms", "latency_ms_share"),
    *("latency_fastest_ms", "latency_slowest_ms"),
    *("target_memory_mb", "memory_mb", "memory_mb_share"),
)

_PARQUET_ERRORS = (OSError, ValueError, pyarrow.ArrowException)


class ResultsStore:
    """The trials table of one run directory, appended to one finished trial at a time.

    A single writer is assumed (the coordinator); any number of readers may look at the files
    while it writes.
    """

    def __init__(self, run_dir: Path, space: SearchSpace) -> None:
        self.run_dir = Path(run_dir)
        self.space = space
        self.columns = table_columns(space)

    @property
    def parquet_path(self) -> Path:
        return self.run_dir / TRIALS_PARQUET

    @property
    def csv_path(self) -> Path:
        return self.run_dir / TRIALS_CSV

    def append(self, record: TrialRecord) -> None:
        """Add `record` as the last row and rewrite both tables atomically, Parquet first."""
        row = record.to_row(self.space)
        if list(row) != self.columns:
            raise ValueError(f"record {record.trial_id} does not match the {self.space.name} table")
        stored, added = self.table(), pd.DataFrame([row])
        self._write(added if stored.empty else pd.concat([stored, added], ignore_index=True))

    def retire(self, trial_ids: Collection[str]) -> None:
        """Move the rows of `trial_ids` out of the trials table into `retired_trials.csv`.

        Used for trials that a resume trains again: the table keeps one row per trial, and the
        earlier attempts stay on record.
        """
        table = self.table()
        leaving = table["trial_id"].isin(list(trial_ids))
        attempts = self.run_dir / RETIRED_TRIALS_CSV
        if attempts.exists():
            earlier = read_csv(attempts, self.space)
            retired = pd.concat([earlier, table[leaving]], ignore_index=True)
        else:
            retired = table[leaving]
        write_atomically(attempts, lambda path: retired.to_csv(path, index=False))
        self._write(table[~leaving].reset_index(drop=True))

    def _write(self, table: pd.DataFrame) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.parquet_path, lambda path: table.to_parquet(path, index=False))
        write_atomically(self.csv_path, lambda path: table.to_csv(path, index=False))

    def table(self) -> pd.DataFrame:
        """All rows in append order: the Parquet table, else the CSV, else an empty table.

        A table written by an earlier version gets the newer columns with their defaults. A
        damaged Parquet file is read from its CSV twin (`repair` rewrites it); with no intact
        twin it is a `UserError` naming the file, never an empty table.
        """
        if self.parquet_path.exists():
            try:
                return self._complete(pd.read_parquet(self.parquet_path))
            except _PARQUET_ERRORS as error:
                if not self.csv_path.exists():
                    raise UserError(
                        f"{self.parquet_path} is damaged ({_first_line(error)}) and there is "
                        f"no {TRIALS_CSV} to rebuild it from"
                    ) from None
        if self.csv_path.exists():
            try:
                return self._complete(read_csv(self.csv_path, self.space))
            except (ValueError, pd.errors.ParserError) as error:
                raise UserError(f"{self.csv_path} is damaged ({_first_line(error)})") from None
        return pd.DataFrame(columns=self.columns)

    def repair(self) -> str | None:
        """Rebuild a damaged Parquet table from its intact CSV twin; say so, or None."""
        if not self.parquet_path.exists():
            return None
        try:
            pd.read_parquet(self.parquet_path)
            return None
        except _PARQUET_ERRORS as error:
            reason = _first_line(error)
        self._write(self.table())
        return f"{self.parquet_path} was damaged ({reason}); rebuilt from {self.csv_path.name}"

    def _complete(self, stored: pd.DataFrame) -> pd.DataFrame:
        """`stored` with this version's columns in order (missing ones take their defaults)."""
        if list(stored.columns) == self.columns:
            return stored
        if not set(stored.columns) <= set(self.columns):
            raise UserError(f"{self.parquet_path} has other columns than a {self.space.name} table")
        defaults = _template_row(self.space)
        missing = {name: defaults[name] for name in self.columns if name not in stored}
        return stored.assign(**missing)[self.columns]

    def records(self) -> list[TrialRecord]:
        """The recorded trials, in append order; [] for a run that has recorded none yet."""
        return [TrialRecord.from_row(row, self.space) for row in self.table().to_dict("records")]

    def write_path(self, path_records: list[TrialRecord]) -> None:
        """`path.csv`: the model kept at each step, in the order given, with its lead over the
        runner-up of its step (`evidence.step_leads`)."""
        config_fields = list(self.space.to_dict(self.space.seed))
        rows = [record.to_row(self.space) for record in path_records]
        table = step_leads(pd.DataFrame(rows, columns=self.columns), self.table())
        table = table[[*PATH_COLUMNS, *LEAD_COLUMNS, *config_fields]]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.run_dir / PATH_CSV, lambda path: table.to_csv(path, index=False))

    def write_final(self, record: TrialRecord, note: str, settings: Mapping[str, Any]) -> None:
        """`final.yaml`: the chosen architecture, its complexity and accuracy, and `note`.

        `note` says what the reader should know about the choice, e.g. that the axes' rounding
        allows no model within 85 % of the target.
        """
        self._write_architecture(FINAL_YAML, record, note, settings)

    def write_members(self, members: Sequence[Member], settings: Mapping[str, Any]) -> None:
        """`member_<k>.yaml` per target (k from 1, by rising target), architecture files like
        `final.yaml`, and `members.csv`, a row for each."""
        config_fields = list(self.space.to_dict(self.space.seed))
        rows = []
        for rank, member in enumerate(members, start=1):
            name = member_file(rank)
            extra = {**settings, "target_gflops": member.target_gflops}
            self._write_architecture(name, member.record, member.note, extra, member=rank)
            row = member.record.to_row(self.space)
            info = {"member": rank, "target_gflops": member.target_gflops}
            rows.append({**row, **info, "note": member.note, "file": name})
        table = pd.DataFrame(rows, columns=[*MEMBER_COLUMNS, *config_fields])
        write_atomically(self.run_dir / MEMBERS_CSV, lambda path: table.to_csv(path, index=False))

    def _write_architecture(
        self,
        name: str,
        record: TrialRecord,
        note: str,
        settings: Mapping[str, Any],
        member: int | None = None,
    ) -> None:
        """An architecture file `name` for `record`, with its complexity, accuracy, `note`, the
        target (`settings["target_gflops"]`), and the data, `member` rank and measured figures
        (`HARDWARE_KEYS`) where given."""
        spec, outcome = record.spec, record.outcome
        target = settings.get("target_gflops")
        details: dict[str, Any] = {} if member is None else {"member": member}
        details |= {
            "trial_id": spec.trial_id,
            "gflops": float(spec.gflops),
            "params_m": float(spec.params_m),
            "top1": float(outcome.top1),
            "top5": float(outcome.top5),
            "target_gflops": None if target is None else float(target),
            "note": note,
        }
        if settings.get("data"):
            details["data"] = str(settings["data"])
        details |= {key: float(settings[key]) for key in HARDWARE_KEYS if key in settings}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(
            self.run_dir / name,
            lambda path: save_architecture(path, self.space, spec.config, details),
        )


def member_file(rank: int) -> str:
    """The architecture file of a search's `rank`-th member (from 1, by rising target)."""
    return f"member_{rank}.yaml"


def table_columns(space: SearchSpace) -> list[str]:
    """The trials table's columns for `space`, in `TrialRecord.to_row`'s order."""
    return list(_template_row(space))


def read_csv(path: Path, space: SearchSpace) -> pd.DataFrame:
    """A CSV written by this module, with the types the rows had when written.

    Text columns stay text (an error message "NA" or a trial id "007" is not a number) and
    empty text stays ""; empty numeric cells are NaN; floats round-trip exactly.
    """
    text_columns = [name for name, value in _template_row(space).items() if isinstance(value, str)]
    header = pd.read_csv(path, nrows=0).columns
    numeric_columns = [name for name in header if name not in text_columns]
    return pd.read_csv(
        path,
        dtype={name: str for name in text_columns if name in header},
        keep_default_na=False,
        na_values={name: ["", "nan", "NaN"] for name in numeric_columns},
    )


def _template_row(space: SearchSpace) -> dict[str, Any]:
    """A row of the trials table with every column present and of its stored type."""
    spec = TrialSpec("", 0, "forward", SEED_AXIS, "", space.seed, 0.0, 0.0)
    return TrialRecord("", 0, spec, TrialOutcome("ok")).to_row(space)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
