"""CSV import: all rows or none, with every bad row named."""

import httpx

from tests.support.factories import Factory, login

DEPARTMENTS = "code,name_ko,name_en\nCSE,컴퓨터공학과,Computer Science\nMATH,수학과,Mathematics\n"
CATALOG_HEADER = (
    "term_code,course_code,title_ko,title_en,credits,department_code,section_number,capacity,"
    "instructor_name,meeting_times,prerequisites\n"
)
GOOD_CATALOG = CATALOG_HEADER + (
    "IMP-1,CSE101,프로그래밍,Programming,3,CSE,1,40,김교수,Mon 09:00-10:15 E1; Wed 09:00-10:15,\n"
    "IMP-1,CSE101,프로그래밍,Programming,3,CSE,2,40,김교수,Tue 09:00-10:15 E1,\n"
    "IMP-1,CSE201,자료구조,Data Structures,3,CSE,1,30,이교수,Thu 13:00-14:15 E2,CSE101\n"
)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    text: str,
    encoding: str = "utf-8",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/admin/import/{kind}",
        files={"file": (f"{kind}.csv", text.encode(encoding), "text/csv")},
        headers=headers,
    )


async def test_departments_catalog_and_students_import(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.term(code="IMP-1")
    admin = await login(client, await factory.staff())

    departments = await upload(client, admin, "departments", DEPARTMENTS)
    assert departments.status_code == 200, departments.text
    catalog = await upload(client, admin, "catalog", GOOD_CATALOG)
    assert catalog.status_code == 200, catalog.text
    assert catalog.json() == {"kind": "catalog", "rows": 3, "created": 3, "updated": 0}
    students = await upload(
        client,
        admin,
        "students",
        "student_number,name,year,department_code,max_credits,password,completed_courses\n"
        "20275001,한국인,3,CSE,18,first-password,CSE101\n"
        "20275002,Jane Doe,1,MATH,,second-password,\n",
        encoding="cp949" if False else "utf-8",
    )
    assert students.status_code == 200, students.text
    assert await factory.count("sections") == 3
    assert await factory.count("course_prerequisites") == 1
    assert await factory.count("completed_courses") == 1
    await login(client, "20275001", "first-password")


async def test_a_bad_row_writes_nothing_and_every_error_is_named(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.term(code="IMP-1")
    admin = await login(client, await factory.staff())
    await upload(client, admin, "departments", DEPARTMENTS)
    bad = GOOD_CATALOG + (
        "IMP-1,CSE301,운영체제,Operating Systems,three,CSE,1,30,,Mon 09:00-10:15,\n"
        "IMP-1,CSE302,네트워크,Networks,3,CSE,1,30,,Someday 25:00-26:00,\n"
        "NOPE,CSE303,보안,Security,3,CSE,1,30,,,\n"
        "IMP-1,CSE304,컴파일러,Compilers,3,NODEPT,1,30,,,\n"
    )

    response = await upload(client, admin, "catalog", bad)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "IMPORT_INVALID"
    rows = sorted({e["row"] for e in body["detail"]["errors"]})
    assert rows == [5, 6]  # parse errors are reported before anything touches the database
    assert await factory.count("courses") == 0 and await factory.count("sections") == 0


async def test_reference_errors_found_while_writing_roll_everything_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.term(code="IMP-1")
    admin = await login(client, await factory.staff())
    await upload(client, admin, "departments", DEPARTMENTS)
    bad = GOOD_CATALOG + (
        "NOPE,CSE303,보안,Security,3,CSE,1,30,,,\n"
        "IMP-1,CSE304,컴파일러,Compilers,3,NODEPT,1,30,,,\n"
    )

    response = await upload(client, admin, "catalog", bad)

    assert response.status_code == 422
    rows = sorted({e["row"] for e in response.json()["detail"]["errors"]})
    assert rows == [5, 6]
    assert await factory.count("courses") == 0 and await factory.count("sections") == 0


async def test_student_import_with_a_bad_row_creates_nobody(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    response = await upload(
        client,
        admin,
        "students",
        "student_number,name,year,department_code,max_credits,password,completed_courses\n"
        "20276001,가나다,3,,18,a-good-password,\n"
        "20276002,라마바,9,,18,a-good-password,\n"
        "20276003,사아자,2,,18,short,\n",
    )
    assert response.status_code == 422
    assert sorted({e["row"] for e in response.json()["detail"]["errors"]}) == [3, 4]
    assert await factory.count("students") == 0


async def test_missing_columns_and_cp949_files(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await login(client, await factory.staff())
    missing = await upload(client, admin, "departments", "code,name_ko\nX,엑스\n")
    assert missing.status_code == 422
    assert "name_en" in missing.json()["detail"]["errors"][0]["message"]
    korean_excel = await upload(client, admin, "departments", DEPARTMENTS, encoding="cp949")
    assert korean_excel.status_code == 200
    names = (await client.get("/api/v1/departments")).json()
    assert {d["name_ko"] for d in names} == {"컴퓨터공학과", "수학과"}


async def test_an_oversized_field_is_a_row_error_not_a_crash(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await login(client, await factory.staff())
    unclosed_quote = 'code,name_ko,name_en\nCSE,"' + "x" * 200_000 + "\n"
    response = await upload(client, admin, "departments", unclosed_quote)
    assert response.status_code == 422 and response.json()["code"] == "IMPORT_INVALID"


async def test_reimporting_fewer_columns_keeps_what_the_file_does_not_mention(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.term(code="IMP-1")
    admin = await login(client, await factory.staff())
    await upload(client, admin, "departments", DEPARTMENTS)
    await upload(client, admin, "catalog", GOOD_CATALOG)
    await upload(
        client,
        admin,
        "students",
        "student_number,name,year,department_code,max_credits,password,completed_courses\n"
        "20275001,한국인,3,CSE,21,first-password,CSE101\n",
    )

    capacities_only = (
        "term_code,course_code,title_ko,title_en,credits,department_code,section_number,capacity\n"
        "IMP-1,CSE201,자료구조,Data Structures,3,CSE,1,45\n"
    )
    assert (await upload(client, admin, "catalog", capacities_only)).status_code == 200
    names_only = "student_number,name,year\n20275001,한국인,4\n"
    assert (await upload(client, admin, "students", names_only)).status_code == 200

    sections = (await client.get("/api/v1/sections?q=CSE201", headers=admin)).json()["items"]
    assert sections[0]["capacity"] == 45
    assert sections[0]["meeting_times"] != [] and sections[0]["prerequisite_codes"] == ["CSE101"]
    student = (await client.get("/api/v1/admin/students?q=20275001", headers=admin)).json()[
        "items"
    ][0]
    assert (student["year"], student["max_credits"], student["department_code"]) == (4, 21, "CSE")
    assert student["completed_course_codes"] == ["CSE101"]
