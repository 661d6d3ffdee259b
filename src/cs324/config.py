"""Typed run configurations: one frozen dataclass per trainer, whose fields are its flags.

    @dataclass(frozen=True)
    class RNNConfig(RuntimeConfig):
        "Part III: the palindrome task"
        input_length: int = option(19, "T-1, digits seen", type=positive_int)

    build_parser = lambda: parser_for(RNNConfig)          # --input_length, ... and the runtime flags
    main(RNNConfig(input_length=29))                      # the library takes the dataclass

Each field is written once, with its type, default and help; the flag of field ``x`` is ``--x``
and its argparse settings (``type``, ``choices``, ``action``, ``metavar``) sit beside it. The
flags of each class in the hierarchy form one help group, titled by the class's docstring. A
config built in Python is not checked by the argument types: the command line is the checked
way in, the dataclass the typed one. (Libraries such as tyro do this too, but print multi-line
error boxes; every cs324 command answers bad input in one line.)
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import TypeVar

from cs324.cli import ArgumentParser, UsageError

C = TypeVar("C")


def option(default, help: str | None = None, *, aliases: tuple[str, ...] = (), **argparse_kwargs):
    """A config field that is also the flag ``--<name>`` (plus ``aliases``), with argparse's settings."""
    flag = dict(argparse_kwargs, help=help, aliases=aliases)
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"flag": flag})
    return dataclasses.field(default=default, metadata={"flag": flag})


def default_of(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _declared_by(cls: type) -> dict[type, list[dataclasses.Field]]:
    """The fields of ``cls``, grouped by the class (most basic first) that first declared each."""
    groups: dict[type, list[dataclasses.Field]] = {}
    bases = [k for k in reversed(cls.__mro__) if dataclasses.is_dataclass(k)]
    for f in dataclasses.fields(cls):
        owner = next(k for k in bases if f.name in k.__dict__.get("__annotations__", {}))
        groups.setdefault(owner, []).append(f)
    return groups


def add_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field of ``cls``: the most specific class's flags first, the shared ones after."""
    for owner, group_fields in reversed(_declared_by(cls).items()):
        title = (owner.__doc__ or owner.__name__).strip().splitlines()[0]
        group = parser.add_argument_group(title)
        for f in group_fields:
            flag = dict(f.metadata["flag"])
            names = (f"--{f.name}", *flag.pop("aliases"))
            group.add_argument(*names, dest=f.name, default=default_of(f), **flag)


def parser_for(cls: type, description: str | None = None) -> ArgumentParser:
    parser = ArgumentParser(description=description or (cls.__doc__ or "").strip().splitlines()[0])
    add_options(parser, cls)
    return parser


def typed(cls: type[C], config: C | argparse.Namespace | dict | None = None, **overrides) -> C:
    """``config`` as a ``cls``: a parsed Namespace, a dict of fields or a config, then ``overrides`` applied.

    A name that is not one of the fields is a ``UsageError`` naming it, not a ``TypeError`` deep in a run."""
    if isinstance(config, cls) and not overrides:
        return config
    if config is None:
        values = {}
    elif isinstance(config, dict):
        values = dict(config)
    else:
        values = as_dict(config)
    values |= overrides
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise UsageError(f"{cls.__name__} has no setting {', '.join(unknown)}")
    return cls(**values)


def from_record(cls: type[C], record: dict) -> C:
    """The config a run folder's ``config.json`` records (the environment keys beside the fields are dropped)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in record.items() if k in names})


def as_dict(config) -> dict:
    """What ``config.json`` records of a config: every field by name, in the order of ``--help``."""
    if not dataclasses.is_dataclass(config):
        return dict(vars(config))
    groups = reversed(_declared_by(type(config)).values())
    return {f.name: getattr(config, f.name) for group in groups for f in group}
