"""Simplified and Traditional Chinese: conversion for readers of the other script, and folding
for search, with OpenCC's phrase dictionaries (not a character table: 头发 -> 頭髮, 发烧 -> 發燒).

Example::

    to_traditional("请在周五前回复", "yue-Hant")  # '請在週五前回覆' style, Hong Kong forms
    fold("劉奶奶") == fold("刘奶奶")             # True: both 'liu' in Simplified
"""

from __future__ import annotations

import unicodedata
from functools import cache

import opencc

# Family language -> the OpenCC configuration that writes its Traditional forms.
_TO_TRADITIONAL = {"zh-Hant": "s2t", "yue-Hant": "s2hk"}


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_traditional(text: str, language: str = "zh-Hant") -> str:
    """Simplified text as a reader of ``language`` (zh-Hant or yue-Hant) writes it."""
    return _converter(_TO_TRADITIONAL.get(language, "s2t")).convert(text)


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text)


def fold(text: str) -> str:
    """A search key: full-width to half-width (NFKC), Traditional to Simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).casefold()
