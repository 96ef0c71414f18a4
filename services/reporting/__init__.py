"""Reporting context: registrations of targets (đăng ký thi đua) and reports (báo cáo) with their reviews."""
