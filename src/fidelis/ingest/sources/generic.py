"""Any CSV / XLSX / Parquet / JSON-lines file, described by a mapping file (see mapping.py)."""

from __future__ import annotations

from pathlib import Path

from fidelis.errors import MappingError
from fidelis.ingest.mapping import MAPPABLE_FIELDS, Mapping, load_mapping
from fidelis.ingest.sources.base import FIELDS_BY_DATASET, SourceOptions, Staging, kind_case, text_of


class GenericSource:
    name = "generic"
    dataset = "orders"  # or feedback: the mapping's source.kind decides
    description = "any CSV/XLSX/Parquet/JSON-lines file described by a --mapping TOML file"

    def detect(self, header: list[str]) -> bool:
        return False  # never guessed: it needs a mapping

    def read_options(self, options: SourceOptions) -> dict[str, str]:
        mapping = self._mapping(options)
        section = mapping.source
        chosen = {
            "file_format": section.format, "delimiter": section.delimiter,
            "encoding": section.encoding, "sheet": section.sheet,
        }
        return {k: v for k, v in chosen.items() if v is not None}

    def staging(self, header: list[str], path: Path, options: SourceOptions) -> Staging:
        mapping = self._mapping(options)
        section = mapping.source
        missing = sorted(col for col in mapping.columns.values() if col not in header)
        if missing:
            shown = ", ".join(f"'{c}'" for c in missing)
            raise MappingError(
                f"mapping {options.mapping_path} names column(s) {shown} that {path} does not have; "
                f"its columns are: {', '.join(header)}"
            )
        dataset = section.kind
        if (dataset == "orders" and "currency" not in mapping.columns
                and not (options.default_currency or section.default_currency)):
            raise MappingError(
                f"mapping {options.mapping_path}: no currency: map a 'currency' column, set "
                f"source.default_currency, or give --currency"
            )
        to_staging = MAPPABLE_FIELDS[dataset]
        expressions = {field: "NULL" for field in FIELDS_BY_DATASET[dataset]}
        columns: dict[str, str] = {}
        for field, column in mapping.columns.items():
            staged = to_staging[field]
            expressions[staged] = text_of(column)
            columns[staged] = column
        if dataset == "orders":
            self._order_kind(mapping, expressions)
        return Staging(
            dataset=dataset,
            source_name=options.source_name or section.name,
            expressions=expressions,
            columns=columns,
            date_format=section.date_format,
            timezone=options.timezone or section.timezone,
            default_currency=options.default_currency or section.default_currency,
            decimal_separator=section.decimal_separator,
            thousands_separator=section.thousands_separator,
            rating_scale_max=section.rating_scale_max,
        )

    @staticmethod
    def _order_kind(mapping: Mapping, expressions: dict[str, str]) -> None:
        """Map the kind column through [values.order_kind]; without a column every row is a sale."""
        raw = expressions["order_kind"]
        if raw == "NULL":
            expressions["order_kind"] = "'sale'"
            return
        values = mapping.values.get("order_kind") or {k: [k] for k in ("sale", "return", "cancellation")}
        expressions["order_kind_raw"] = raw
        expressions["order_kind"] = kind_case(raw, values)

    @staticmethod
    def _mapping(options: SourceOptions) -> Mapping:
        if options.mapping_path is None:
            raise MappingError("the generic format needs --mapping FILE (see docs/ingest.md)")
        return load_mapping(options.mapping_path)


SOURCE = GenericSource()
