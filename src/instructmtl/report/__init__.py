"""The study report: Markdown and self-contained HTML with matplotlib figures, built from the results store."""

from instructmtl.report.build import AnalysisSettings, BuiltReport, analysis_settings, build_report, config_arm_names

__all__ = ["AnalysisSettings", "BuiltReport", "analysis_settings", "build_report", "config_arm_names"]
