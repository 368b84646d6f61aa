"""Accounts (create, disable, reset a password) and the audit log: the admin's pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse

from libcrm.workspace import accounts, web

router = APIRouter(prefix="/admin")
AUDIT_ROWS_SHOWN = 500


@router.get("/accounts")
def account_list(page: web.Administrator, created: str | None = None):
    return page.render(
        "admin_accounts.html",
        accounts=accounts.list_accounts(page.conn),
        roles=accounts.ROLES,
        tables={},
        created=created,
    )


@router.post("/accounts")
def create(
    page: web.Administrator,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
):
    password = accounts.new_password()
    try:
        accounts.create_account(
            page.conn,
            username.strip().lower(),
            role,
            password,
            page.account.username,
            display_name.strip() or None,
        )
    except accounts.AccountError as error:
        page.conn.rollback()
        return page.render(
            "admin_accounts.html",
            400,
            accounts=accounts.list_accounts(page.conn),
            roles=accounts.ROLES,
            tables={},
            problem=str(error),
        )
    return page.render(
        "admin_password.html", username=username.strip().lower(), password=password, tables={}
    )


@router.post("/accounts/{username}/password")
def reset_password(page: web.Administrator, username: str):
    password = accounts.new_password()
    try:
        accounts.set_password(page.conn, username, password, page.account.username)
    except accounts.AccountError as error:
        raise HTTPException(404, str(error)) from None
    return page.render("admin_password.html", username=username, password=password, tables={})


@router.post("/accounts/{username}/disabled")
def set_disabled(page: web.Administrator, username: str, disabled: Annotated[bool, Form()]):
    if username == page.account.username:
        raise HTTPException(400, "an administrator cannot disable their own account")
    try:
        accounts.set_disabled(page.conn, username, disabled, page.account.username)
    except accounts.AccountError as error:
        raise HTTPException(404, str(error)) from None
    return RedirectResponse("/admin/accounts", status_code=303)


@router.get("/audit")
def audit_log(page: web.Administrator, action: str | None = None):
    rows = page.conn.execute(
        "select at, username, role, action, reason, detail::text as detail, row_count"
        " from workspace.audit_log where %(action)s::text is null or action = %(action)s"
        " order by audit_id desc limit %(limit)s",
        {"action": action or None, "limit": AUDIT_ROWS_SHOWN},
    )
    table = web.Table.of(rows)
    actions = [
        r[0]
        for r in page.conn.execute("select distinct action from workspace.audit_log order by 1")
    ]
    return page.render(
        "admin_audit.html", log=table, actions=actions, action=action, tables={"audit": table}
    )
