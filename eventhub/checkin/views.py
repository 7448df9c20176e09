"""The scanner page (扫码签到): camera, hand-held scanner and manual search, online and offline."""
