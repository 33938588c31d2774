"""Rubrics (考核细则) as data: model, loading, compilation of every clause to one expression."""
from .load import builtin_ids, builtin_rubric, load_rubric, load_with_issues, resolve
from .model import Clause, Dimension, Field, Grade, Group, Indicator, Param, Rubric, Unit

__all__ = ["builtin_ids", "builtin_rubric", "load_rubric", "load_with_issues", "resolve",
           "Clause", "Dimension", "Field", "Grade", "Group", "Indicator", "Param", "Rubric", "Unit"]
