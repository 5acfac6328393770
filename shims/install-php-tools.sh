#!/bin/sh
# Installs the shims' PHP tooling (PHPUnit 9.6, WordPress Coding Standards 2.3, WP-CLI 2.4)
# into shims/vendor. Used by CI and the fixtures; safe to run again: it does nothing when
# vendor/ was installed from the current composer.json.
#
# Why `composer update` and not `install`: composer on this machine writes no lock file, so
# there is nothing to install from. Why `--ignore-platform-req=php+`: wp-cli 2.4 declares
# `php ^5.4 || ^7.0`; the `+` lifts only that upper bound (plain `=php` also drops the lower
# bounds and pulls packages that need a newer PHP). See /work/shared/notes/php-tooling.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

stamp=vendor/.installed-from-composer-json.sha256
want=$(sha256sum composer.json | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
	&& [ -x vendor/bin/phpunit ] && [ -x vendor/bin/phpcs ]; then
	echo "shims/vendor is up to date"
	exit 0
fi

command -v composer >/dev/null 2>&1 || { echo "install-php-tools.sh: composer is not installed" >&2; exit 1; }

composer update --ignore-platform-req=php+ --no-interaction --no-progress --prefer-dist

# The standards must be registered, or every phpcs run would fail later with a vaguer message.
vendor/bin/phpcs -i | grep -q 'WordPress-Extra' || {
	echo "install-php-tools.sh: phpcs does not list the WordPress standards" >&2
	exit 1
}

echo "$want" > "$stamp"
echo "shims/vendor installed"
