import { describe, expect, it } from 'vitest';
import { parseJson, plainString } from './json.js';
import { compileJsonPath, JsonPathError } from './jsonpath.js';

const STORE = JSON.stringify({
  store: {
    book: [
      { category: 'reference', author: 'Nigel Rees', title: 'Sayings of the Century', price: 8.95 },
      { category: 'fiction', author: 'Evelyn Waugh', title: 'Sword of Honour', price: 12.99 },
      { category: 'fiction', author: 'Herman Melville', title: 'Moby Dick', isbn: '0-553-21311-3', price: 8.99 },
      {
        category: 'fiction',
        author: 'J. R. R. Tolkien',
        title: 'The Lord of the Rings',
        isbn: '0-395-19395-8',
        price: 22.99,
      },
    ],
    bicycle: { color: 'red', price: 19.95 },
  },
  'count(*)': 4,
  'odd key': { x: true },
  flag: false,
  none: null,
});

const query = (json: string, path: string): string[] => compileJsonPath(path)(parseJson(json)).map(plainString);

describe('JSONPath', () => {
  it.each<[string, string, string[]]>([
    ['{ "id": 38, "name": "Tracetest" }', '.id', ['38']],
    ['{ "id": 38, "name": "Tracetest" }', 'id', ['38']],
    ['{ "id": 38, "name": "Tracetest" }', '$.name', ['Tracetest']],
    ['{ "array": [ { "id": 38, "name": "Tracetest" } ] }', '$.array[0].id', ['38']],
    ['{ "array": [ { "id": 38, "name": "Tracetest" }, {"id": 39, "name": "Kusk"} ] }', '$.array[*].id', ['38', '39']],
    [
      '{ "array": [ { "id": 38, "name": "Tracetest" }, {"id": 39, "name": "Kusk"} ] }',
      "$.array[*]..['id', 'name']",
      ['38', 'Tracetest', '39', 'Kusk'],
    ],
    ['{"results":[{"count(*)":{"result":3}}]}', "$.results[0]['count(*)'].result", ['3']],
    ['{"results":[{"count(*)":{"result":3}}]}', '$.results[0]["count(*)"].result', ['3']],
    ['[10, 20, 30]', '$[0]', ['10']],
    ['[10, 20, 30]', '$[-1]', ['30']],
    ['[10, 20, 30]', '$[5]', []],
    ['[10, 20, 30]', '$[0,2]', ['10', '30']],
    ['[10, 20, 30, 40]', '$[1:3]', ['20', '30']],
    ['[10, 20, 30, 40]', '$[:2]', ['10', '20']],
    ['[10, 20, 30, 40]', '$[-2:]', ['30', '40']],
    ['[10, 20, 30, 40]', '$[::2]', ['10', '30']],
    ['[10, 20, 30, 40]', '$[::-1]', ['40', '30', '20', '10']],
    ['[10, 20, 30]', '$.*', ['10', '20', '30']],
    ['{"a": 1, "b": {"c": 2}}', '$.*', ['1', '{"c":2}']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.name == "john")].age', ['37']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', "$[?(@.name == 'jonas')].age", ['38']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.name != "john")].name', ['jonas']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.age < 38)].name', ['john']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.age <= 38)].name', ['john', 'jonas']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.age > 37)].name', ['jonas']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.age >= 37.5)].name', ['jonas']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.name > "joo")].name', []],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.name < "jonas")].name', ['john']],
    ['[{ "name": "john", "age": 37 }, { "name": "jonas", "age": 38 }]', '$[?(@.age == "37")].name', []],
    [STORE, '$..author', ['Nigel Rees', 'Evelyn Waugh', 'Herman Melville', 'J. R. R. Tolkien']],
    [STORE, '$.store..price', ['8.95', '12.99', '8.99', '22.99', '19.95']],
    [STORE, '$..book[2].title', ['Moby Dick']],
    [STORE, '$..book[?(@.isbn)].title', ['Moby Dick', 'The Lord of the Rings']],
    [STORE, '$..book[?(!@.isbn)].title', ['Sayings of the Century', 'Sword of Honour']],
    [STORE, '$.store.book[?(@.price < 10 && @.category == "fiction")].title', ['Moby Dick']],
    [
      STORE,
      '$.store.book[?(@.price > 20 || @.category == "reference")].title',
      ['Sayings of the Century', 'The Lord of the Rings'],
    ],
    [STORE, '$.store.book[?((@.price > 20))].author', ['J. R. R. Tolkien']],
    [STORE, "$['count(*)']", ['4']],
    [STORE, "$['odd key'].x", ['true']],
    [STORE, '$.flag', ['false']],
    [STORE, '$.none', ['null']],
    [STORE, '$.store.bicycle', ['{"color":"red","price":19.95}']],
    [STORE, '$.missing', []],
    [STORE, '$.store.book.title', []],
    ['{"big": 12345678901234567890, "f": 1.0, "e": 1e6}', '$.big', ['12345678901234567890']],
    ['{"big": 12345678901234567890, "f": 1.0, "e": 1e6}', '$.f', ['1']],
    ['{"big": 12345678901234567890, "f": 1.0, "e": 1e6}', '$.e', ['1e+06']],
    ['{"a": {"a": {"a": 1}}}', '$..a', ['{"a":{"a":1}}', '{"a":1}', '1']],
    ['{"a": "x"}', '$', ['{"a":"x"}']],
  ])('%s %s', (json, path, expected) => {
    expect(query(json, path)).toEqual(expected);
  });

  it.each(['$[', '$.', "$['a", '$[?(@.a ==)]', '$[1:2:0]', '$.a b', '$[?@.a]'])('rejects %s', (path) => {
    expect(() => compileJsonPath(path)).toThrow(JsonPathError);
  });
});
