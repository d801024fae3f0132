import pytest

from server.settings import DEFAULT_PUSH_HOSTS, SettingsError, load_settings, read_dotenv


def test_settings_defaults_are_sqlite_shanghai_and_public_push_hosts():
    s = load_settings({})
    assert s.database_url == "sqlite:///var/salesgate.db"
    assert s.is_sqlite and s.sqlite_path == "var/salesgate.db"
    assert s.timezone == "Asia/Shanghai"
    assert s.push_hosts == DEFAULT_PUSH_HOSTS
    assert s.s3_endpoint is None
    assert (s.host, s.port) == ("127.0.0.1", 8000)


def test_settings_are_frozen():
    s = load_settings({})
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


def test_settings_s3_endpoint_needs_keys_and_parses_scheme():
    with pytest.raises(SettingsError, match="SALESGATE_S3_ACCESS_KEY"):
        load_settings({"SALESGATE_S3_ENDPOINT": "http://127.0.0.1:9000"})
    s = load_settings({"SALESGATE_S3_ENDPOINT": "https://s3.example.com", "SALESGATE_S3_ACCESS_KEY": "a",
                       "SALESGATE_S3_SECRET_KEY": "b"})
    assert s.s3_endpoint == "s3.example.com" and s.s3_secure


@pytest.mark.parametrize("env, variable", [
    ({"SALESGATE_PORT": "eighty"}, "SALESGATE_PORT"),
    ({"SALESGATE_PORT": "70000"}, "SALESGATE_PORT"),
    ({"SALESGATE_DATABASE_URL": "mysql://x/y"}, "SALESGATE_DATABASE_URL"),
    ({"SALESGATE_TIMEZONE": "Mars/Olympus"}, "SALESGATE_TIMEZONE"),
    ({"SALESGATE_S3_BUCKET": "Bad_Bucket"}, "SALESGATE_S3_BUCKET"),
    ({"SALESGATE_S3_ENDPOINT": "ftp://x"}, "SALESGATE_S3_ENDPOINT"),
    ({"SALESGATE_SECURE_COOKIES": "maybe"}, "SALESGATE_SECURE_COOKIES"),
    ({"SALESGATE_PLAYBOOK": "/no/such/file.toml"}, "SALESGATE_PLAYBOOK"),
    ({"SALESGATE_HOST": "not an ip"}, "SALESGATE_HOST"),
    ({"SALESGATE_PUSH_HOSTS": "a.com,bad/host"}, "SALESGATE_PUSH_HOSTS"),
])
def test_settings_wrong_value_fails_with_one_line_naming_the_variable(env, variable):
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    message = str(info.value)
    assert message.startswith(variable) and "\n" not in message


def test_settings_postgres_url_and_push_hosts_list():
    s = load_settings({"SALESGATE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
                       "SALESGATE_PUSH_HOSTS": "127.0.0.1, fcm.googleapis.com"})
    assert not s.is_sqlite
    assert s.push_hosts == ("127.0.0.1", "fcm.googleapis.com")


def test_dotenv_is_parsed_with_quotes_comments_and_export(tmp_path):
    env = tmp_path / ".env"
    env.write_text('# comment\nexport SALESGATE_PORT=9001\nSALESGATE_TIMEZONE="Asia/Urumqi"\n\n')
    values = read_dotenv(env)
    assert values == {"SALESGATE_PORT": "9001", "SALESGATE_TIMEZONE": "Asia/Urumqi"}
    assert load_settings(values).port == 9001
    assert read_dotenv(tmp_path / "missing") == {}


def test_dotenv_bad_line_names_file_and_line(tmp_path):
    env = tmp_path / ".env"
    env.write_text("OK=1\nthis is not a setting\n")
    with pytest.raises(SettingsError, match=r"\.env:2"):
        read_dotenv(env)
