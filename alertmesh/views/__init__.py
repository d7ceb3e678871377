"""What the commands print on a terminal: tables, progress lines, result summaries and the results listing."""
