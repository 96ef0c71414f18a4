"""Every refusal the HTTP API answers: its stable ``code``, HTTP status, meaning (Vietnamese, English) and what the
client should do. docs/api.md (``thidua api refusals``) and the OpenAPI responses are generated from this table;
``tests/unit/test_refusal_table.py`` fails when a code raised anywhere in the product is missing from it.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY_NEVER = "Sửa yêu cầu rồi gửi lại / fix the request and send it again"


@dataclass(frozen=True)
class Refusal:
    """One refusal code of the API."""

    code: str
    statuses: tuple[int, ...]
    vi: str
    en: str
    action: str = RETRY_NEVER


def _r(code: str, statuses: int | tuple[int, ...], vi: str, en: str, action: str = RETRY_NEVER) -> Refusal:
    return Refusal(code, statuses if isinstance(statuses, tuple) else (statuses,), vi, en, action)


REFUSALS: tuple[Refusal, ...] = (
    # 400: the request cannot be read
    _r(
        "MALFORMED_BODY",
        400,
        "Nội dung không phải JSON UTF-8 hợp lệ (sai cú pháp, sai mã hóa, lồng quá sâu)",
        "The body is not valid UTF-8 JSON (syntax, encoding, nested too deep)",
    ),
    _r(
        "INVALID_PARAMETER",
        400,
        "Đường dẫn hoặc tham số truy vấn chứa ký tự điều khiển (NUL…) hoặc byte không phải UTF-8",
        "The path or a query parameter holds a control character (NUL…) or bytes that are not UTF-8",
    ),
    _r(
        "INVALID_CURSOR",
        400,
        "Con trỏ phân trang hỏng, bị sửa, của danh sách khác hoặc của nút khác",
        "The pagination cursor is corrupted, altered, of another list or of another node",
        "Bỏ con trỏ, đọc lại từ trang đầu / drop the cursor and start again from the first page",
    ),
    _r(
        "UNSUPPORTED_GRANT_TYPE",
        400,
        "Chỉ hỗ trợ grant_type=client_credentials",
        "Only grant_type=client_credentials is supported",
        "Gửi grant_type=client_credentials / send it",
    ),
    # 401: who calls
    _r(
        "MISSING_TOKEN",
        401,
        "Thiếu mã truy cập",
        "No bearer token",
        "Lấy mã tại POST /api/v1/token / get a token at POST /api/v1/token",
    ),
    _r(
        "INVALID_TOKEN",
        401,
        "Mã truy cập sai định dạng, sai chữ ký, sai bên phát hành hoặc thiếu thông tin",
        "The token is malformed, badly signed, of another issuer, or lacks claims",
        "Lấy mã mới / get a new token",
    ),
    _r(
        "TOKEN_EXPIRED",
        401,
        "Mã truy cập đã hết hạn",
        "The token has expired",
        "Lấy mã mới (không cần khóa idempotency) / get a new token and retry",
    ),
    _r(
        "TOKEN_REVOKED",
        401,
        "Mã truy cập hoặc ứng dụng đã bị thu hồi",
        "The token or its client has been revoked",
        "Lấy mã mới; nếu ứng dụng bị thu hồi, liên hệ quản trị nút / get a new token; a revoked client must ask the "
        "node's operator",
    ),
    _r(
        "INVALID_CLIENT",
        401,
        "Sai client_id hoặc client_secret, hoặc ứng dụng đã bị thu hồi",
        "Wrong client_id or client_secret, or the client was revoked",
        "Kiểm tra AccessKey/SecretKey; không thử lại liên tục / check the credentials; do not retry in a loop",
    ),
    # 403: may not
    _r(
        "OUT_OF_SUBTREE",
        403,
        "Ngoài phạm vi đơn vị của mã truy cập (hoặc không có đối tượng này trong phạm vi)",
        "Outside the caller's subtree (or no such target within it)",
        "Dùng ứng dụng của đơn vị có phạm vi / use a client of a unit whose subtree holds it",
    ),
    _r(
        "ROLE_NOT_ALLOWED",
        403,
        "Mã truy cập không có vai trò cần thiết (xem required_roles)",
        "The token lacks the role needed (see required_roles)",
        "Dùng ứng dụng có vai trò đó / use a client with that role",
    ),
    _r(
        "WRONG_NODE",
        403,
        "Mã truy cập của nút khác",
        "A token of another node",
        "Lấy mã tại nút này / get a token from this node",
    ),
    _r(
        "AUTHORITY_MISMATCH",
        (403, 422),
        "Sai thẩm quyền: đơn vị không quyết định được hình thức này (403), hoặc cấp "
        "đề nghị không gửi được tới cấp có thẩm quyền (422)",
        "Wrong authority: the unit may not decide this form "
        "(403), or the proposing level cannot reach a competent decider (422)",
        "Để cấp có thẩm quyền quyết định; đổi hình thức / let the competent authority decide; change the form",
    ),
    # 404: not here
    _r("NOT_FOUND", 404, "Không có địa chỉ này", "No such address", "Kiểm tra đường dẫn / check the path"),
    _r(
        "UNKNOWN_ORG_UNIT",
        404,
        "Không có đơn vị này",
        "No such org unit",
        "Kiểm tra mã đơn vị (mã hành chính hoặc mã đã đăng ký) / check the unit code",
    ),
    _r("UNKNOWN_PLAN", 404, "Không có kế hoạch này", "No such plan", "Kiểm tra mã kế hoạch / check the plan id"),
    _r(
        "UNKNOWN_PROPOSAL",
        404,
        "Không có đề nghị khen thưởng này (chỉ báo cho bên gọi cấp trung ương; cấp khác nhận 403 OUT_OF_SUBTREE)",
        "No such award proposal (told to central callers only; others get 403 OUT_OF_SUBTREE)",
        "Kiểm tra mã đề nghị / check the proposal id",
    ),
    _r(
        "UNKNOWN_REPORT",
        404,
        "Không có báo cáo này (chỉ báo cho bên gọi cấp trung ương)",
        "No such report (told to central callers only)",
        "Kiểm tra mã báo cáo / check the report id",
    ),
    _r(
        "UNKNOWN_SCHEMA",
        404,
        "Không có lược đồ Avro với dấu vân tay này",
        "No Avro schema with this fingerprint",
        "Tải lại danh mục GET /api/v1/schemas / reload the catalog",
    ),
    _r(
        "UNKNOWN_SUBSCRIPTION",
        404,
        "Không có đăng ký webhook này của ứng dụng",
        "No such webhook subscription of this client",
        "Kiểm tra mã đăng ký / check the subscription id",
    ),
    _r(
        "UNKNOWN_AWARD_FORM",
        404,
        "Không có hình thức khen thưởng này",
        "No such award form",
        "Dùng mã hình thức của ma trận thẩm quyền / use a form code of the authority matrix",
    ),
    _r(
        "UNKNOWN_AWARD_RULE",
        404,
        "Không có quy tắc khen thưởng cho hình thức này",
        "No award rule for this form",
        "Dùng mã hình thức của ma trận thẩm quyền / use a form code of the authority matrix",
    ),
    _r(
        "UNKNOWN_KEY",
        404,
        "Nút không biết khóa ký này",
        "This node knows no such signing key",
        "Tải lại danh mục GET /api/v1/keys / reload the key catalog",
    ),
    # 409: the state does not allow it
    _r(
        "VERSION_CONFLICT",
        409,
        "Phiên bản luồng khác với If-Match (expected_version, actual_version)",
        "The stream is not at the If-Match version (expected_version, actual_version)",
        "Đọc lại đối tượng, xem thay đổi, gửi lại với ETag mới / re-read, reconcile, send with the new ETag",
    ),
    _r(
        "DUPLICATE_EVENT_CONFLICT",
        409,
        "Mã sự kiện đã có với nội dung khác",
        "Event ids already stored differently",
        "Không gửi lại; báo quản trị / do not retry; tell the operator",
    ),
    _r(
        "STREAM_CONFLICT",
        409,
        "Sự kiện nhập từ nút khác trùng phiên bản luồng đã có",
        "An imported event claims a stream version this node holds with another event",
        "Báo quản trị hai nút / tell both nodes' operators",
    ),
    _r(
        "ORG_UNIT_EXISTS",
        409,
        "Đơn vị đã được đăng ký",
        "The org unit is already registered",
        "Không gửi lại; đọc GET /org-units/{code} / do not resend; read it",
    ),
    _r(
        "PLAN_EXISTS",
        409,
        "Đã có kế hoạch với mã này",
        "A plan with this id exists",
        "Dùng mã khác, hoặc sửa đổi kế hoạch đó / use another id, or amend that plan",
    ),
    _r(
        "PROPOSAL_EXISTS",
        409,
        "Đã có đề nghị với mã này",
        "A proposal with this id exists",
        "Dùng mã khác / use another id",
    ),
    _r(
        "GUIDANCE_EXISTS",
        409,
        "Đã có văn bản hướng dẫn với mã này",
        "Guidance with this id exists",
        "Dùng mã khác / use another id",
    ),
    _r(
        "EMULATION_BLOC_EXISTS",
        409,
        "Khối/cụm thi đua đã được đăng ký",
        "The emulation bloc is already registered",
        "Không gửi lại / do not resend",
    ),
    _r(
        "DUPLICATE_DOCUMENT_NUMBER",
        409,
        "Số văn bản đã dùng cho văn bản khác của cùng cơ quan trong năm",
        "The document number is already used by the issuer that year",
        "Kiểm tra số văn bản / check the number",
    ),
    _r(
        "DUPLICATE_INDICATOR",
        409,
        "Mã chỉ tiêu đã có trong kế hoạch",
        "The indicator code already exists in the plan",
        "Dùng mã khác / use another code",
    ),
    _r(
        "PLAN_ALREADY_NUMBERED",
        409,
        "Kế hoạch đã có số, ngày",
        "The plan already has a number and date",
        "Dùng POST /plans/{id}/amend / amend it instead",
    ),
    _r(
        "PROPOSAL_CLOSED",
        409,
        "Đề nghị đã được quyết định hoặc trả lại",
        "The proposal was decided or returned",
        "Đọc GET /awards/{id}; đề nghị lại nếu cần / read it; propose again if needed",
    ),
    _r(
        "NOT_CURRENT_HOLDER",
        409,
        "Đề nghị đang ở bước khác, do đơn vị khác giữ (current_step)",
        "The proposal is held at another step by another unit",
        "Đọc GET /awards/{id}; chờ lượt / read it; wait",
    ),
    _r(
        "NOTHING_TO_FORWARD",
        409,
        "Bước quyết định không trình tiếp",
        "The deciding step does not forward",
        "Quyết định (decide) hoặc trả lại / decide or return it",
    ),
    _r(
        "REPORT_ALREADY_SUBMITTED",
        409,
        "Báo cáo kỳ này đã nộp và chưa bị trả lại",
        "The report of this period was submitted and not returned",
        "Chỉ nộp lại sau khi bị trả / resubmit only after it is returned",
    ),
    _r(
        "REPORT_NOT_AWAITING_REVIEW",
        409,
        "Báo cáo đã được xem xét",
        "The report was already reviewed",
        "Đọc lại trạng thái / re-read its state",
    ),
    # 413
    _r(
        "PAYLOAD_TOO_LARGE",
        413,
        "Nội dung vượt THIDUA_API_MAX_BODY_BYTES",
        "The body exceeds the node's limit",
        "Gửi nhỏ hơn (tách tệp đính kèm) / send less",
    ),
    # 422: refused by validation or a rule
    _r(
        "VALIDATION_FAILED",
        422,
        "Dữ liệu không hợp lệ; lỗi từng trường trong errors[]",
        "Invalid data; per-field errors in errors[]",
    ),
    _r("INVALID_ORG_PATH", 422, "Đường dẫn đơn vị sai định dạng (VN/…)", "Malformed org-unit path (VN/…)"),
    _r(
        "INVALID_CODE",
        422,
        "Giá trị ngoài danh mục (loại đơn vị, hình thức / dịp khen thưởng, đối tượng…; danh sách "
        "cho phép trong chi tiết)",
        "A value outside its list (unit kind, award form / occasion, subject category…; the allowed values are listed)",
    ),
    _r(
        "INVALID_DOCUMENT_NUMBER",
        422,
        "Số, ký hiệu văn bản không đúng Nghị định 30/2020",
        "Invalid document number/symbol (Decree 30/2020)",
    ),
    _r(
        "INVALID_INDICATOR",
        422,
        "Chỉ tiêu không hợp lệ (phép so sánh, phạm vi, chu kỳ)",
        "Invalid indicator (comparator, scope or recurrence)",
    ),
    _r("INVALID_PHASE", 422, "Giai đoạn không hợp lệ (ngày bắt đầu, kết thúc)", "Invalid phase (start, end dates)"),
    _r(
        "PHASE_OUTSIDE_PARENT",
        422,
        "Giai đoạn nằm ngoài thời gian của kế hoạch cấp trên",
        "A phase lies outside the parent plan's period",
    ),
    _r(
        "PLAN_BEFORE_PARENT",
        422,
        "Kế hoạch ban hành trước kế hoạch cấp trên mà nó thực hiện",
        "The plan is issued before the parent plan it implements",
    ),
    _r(
        "PLAN_NOT_FROM_ANCESTOR",
        422,
        "Kế hoạch chỉ thực hiện kế hoạch của cấp trên",
        "A plan may implement only plans of an ancestor level",
    ),
    _r(
        "INVALID_REVIEW",
        422,
        "Kết quả xem xét phải là ACCEPTED hoặc RETURNED (kèm lý do)",
        "The review outcome must be ACCEPTED or RETURNED (with a reason)",
    ),
    _r(
        "OUTSIDE_PLAN_PERIOD",
        422,
        "Năm hoặc kỳ nằm ngoài thời gian của kế hoạch",
        "The year or period is outside the plan's period",
    ),
    _r(
        "UNKNOWN_INDICATOR",
        422,
        "Chỉ tiêu không có trong kế hoạch hoặc kế hoạch cấp trên",
        "The indicator is not in the plan or the plans above it",
    ),
    _r(
        "TARGET_NOT_FOR_UNIT",
        422,
        "Phạm vi của chỉ tiêu không cho đơn vị này đăng ký (ví dụ chỉ tiêu toàn tỉnh)",
        "The indicator's scope does not let this unit register it (e.g. a province-wide target)",
    ),
    _r(
        "FORM_NOT_ALLOWED_IN_PLAN",
        422,
        "Kế hoạch không có hình thức này cho dịp này",
        "The plan does not offer this form for this occasion",
        "Chọn hình thức kế hoạch cho phép (GET /org-units/{code}/guidance) / pick one the plan offers",
    ),
    _r(
        "FORM_NOT_FOR_OCCASION",
        422,
        "Hình thức không dành cho dịp này (danh hiệu đột xuất, Cờ thi đua ngoài dịp)",
        "The form is not for this occasion",
    ),
    _r(
        "SUBJECT_NOT_ALLOWED",
        422,
        "Hình thức không dành cho loại đối tượng hoặc dịp này",
        "The form is not for this nominee kind or occasion",
    ),
    _r(
        "DECISION_INCOMPLETE",
        422,
        "Phê duyệt cần số và ngày quyết định; từ chối cần lý do",
        "Approval needs a decision number and date; rejection a reason",
    ),
    _r("UNKNOWN_EMULATION_BLOC", 422, "Khối/cụm thi đua chưa được đăng ký", "The emulation bloc is not registered"),
    _r(
        "UNKNOWN_EVENT_TYPE",
        422,
        "Loại sự kiện không có (danh sách trong chi tiết)",
        "Unknown event type (the known ones are listed)",
    ),
    _r(
        "SCHEMA_VIOLATION",
        422,
        "Sự kiện không đúng hợp đồng Avro",
        "The event does not match its Avro contract",
        "Báo quản trị: lỗi của nút / tell the operator: a defect of the node",
    ),
    _r(
        "INVALID_AS_OF",
        422,
        "as_of không phải ngày giờ ISO 8601 (ngày không có giờ bị từ chối)",
        "as_of is not an ISO 8601 date and time (a bare date is refused)",
    ),
    _r("AS_OF_IN_FUTURE", 422, "as_of ở tương lai", "as_of is in the future"),
    _r(
        "INVALID_PERIOD",
        422,
        "Kỳ báo cáo không hợp lệ (2026, SO_KET_2027, TONG_KET_2030)",
        "Invalid period (2026, SO_KET_2027, TONG_KET_2030)",
    ),
    _r("INVALID_LEVEL", 422, "Cấp xem chi tiết không hợp lệ", "Invalid drill-down level"),
    _r("INVALID_STATUS", 422, "Trạng thái lọc không hợp lệ", "Invalid status filter"),
    _r(
        "INVALID_IF_MATCH",
        422,
        'If-Match phải là phiên bản, ví dụ "3", hoặc *',
        'If-Match must be a version like "3", or *',
    ),
    _r(
        "INVALID_IDEMPOTENCY_KEY",
        422,
        "Idempotency-Key phải có 1–255 ký tự ASCII in được",
        "Idempotency-Key must be 1–255 printable ASCII characters",
    ),
    _r(
        "IDEMPOTENCY_KEY_REUSED",
        422,
        "Khóa idempotency đã dùng cho một yêu cầu khác",
        "The Idempotency-Key was used for another request",
        "Dùng khóa mới cho yêu cầu mới / use a new key",
    ),
    _r(
        "HTTPS_REQUIRED",
        422,
        "Nút yêu cầu URL webhook https",
        "The node requires an https webhook URL",
        "Dùng https / use https",
    ),
    # 429, 503
    _r(
        "RATE_LIMITED",
        429,
        "Vượt hạn mức yêu cầu của ứng dụng",
        "Over the client's quota",
        "Chờ Retry-After giây rồi gửi lại / wait Retry-After seconds, then retry",
    ),
    _r(
        "READ_MODEL_REBUILDING",
        503,
        "Dữ liệu tổng hợp đang được dựng lại theo phiên bản mới",
        "Read models are being rebuilt to a new version",
        "Chờ Retry-After giây / retry after Retry-After",
    ),
    _r(
        "STORE_INTEGRITY_ERROR",
        500,
        "Cơ sở dữ liệu từ chối ghi sự kiện (một lỗi của nút, hoặc một bên ghi vòng qua kho sự kiện)",
        "The database refused the append (a defect, or a writer that bypassed the store)",
        "Không gửi lại liên tục; báo quản trị nút / do not retry in a loop; tell the node's operator",
    ),
    _r(
        "NOT_READY",
        503,
        "Cơ sở dữ liệu chưa phản hồi (/readyz)",
        "The database does not answer (/readyz)",
        "Thử lại sau / retry later",
    ),
)

BY_CODE = {r.code: r for r in REFUSALS}


def codes_for(status: int) -> list[str]:
    """The codes answered with ``status``."""
    return [r.code for r in REFUSALS if status in r.statuses]


def markdown() -> str:
    """The table of docs/api.md."""
    lines = [
        "| code | status | nghĩa | meaning | what to do / cần làm |",
        "|---|---|---|---|---|",
    ]
    for r in REFUSALS:
        status = ", ".join(str(s) for s in r.statuses)
        lines.append(f"| `{r.code}` | {status} | {r.vi} | {r.en} | {r.action} |")
    return "\n".join(lines) + "\n"
