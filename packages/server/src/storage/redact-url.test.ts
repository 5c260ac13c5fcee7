import { describe, expect, it } from 'vitest';
import { redactRedisUrl } from '../bus/redis.js';
import { redactDatabaseUrl } from './db.js';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('replaces the password and keeps the rest', () => {
    expect(redactUrl('postgres://app:s3cret@db.internal:5432/spyglass?sslmode=require', 'database')).toBe(
      'postgres://app:***@db.internal:5432/spyglass?sslmode=require',
    );
    expect(redactUrl('redis://:hunter2@redis:6379/0', 'Redis')).toBe('redis://:***@redis:6379/0');
    expect(redactUrl('mysql://root@h:3306/db', 'database')).toBe('mysql://root@h:3306/db');
  });

  it('shows nothing of a URL that does not parse', () => {
    expect(redactUrl('//:hunter2@redis:6379', 'Redis')).toBe('(unparseable Redis URL)');
    expect(redactUrl('::hunter2', 'database')).toBe('(unparseable database URL)');
  });

  it('is what the database and Redis descriptions use', () => {
    for (const url of ['postgres://u:pw@db:5432/x', 'mysql://root:pw@h/db', 'not a url']) {
      expect(redactDatabaseUrl(url)).toBe(redactUrl(url, 'database'));
    }
    for (const url of ['rediss://user:pw@r.example:6380', 'redis://127.0.0.1:6379', 'not a url']) {
      expect(redactRedisUrl(url)).toBe(redactUrl(url, 'Redis'));
    }
    // An SQLite URL is a file path, shown as written.
    expect(redactDatabaseUrl('sqlite:/tmp/my data/hub.db')).toBe('sqlite:/tmp/my data/hub.db');
  });
});
