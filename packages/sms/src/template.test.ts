import { describe, expect, it } from "vitest";
import { countPlaceholders, renderTemplate, templateVariables } from "./template.js";

describe("renderTemplate", () => {
  it("fills placeholders with string and number values", () => {
    expect(renderTemplate("Hi {{name}}, you owe {{amount}}", { name: "Ana", amount: 12.5 })).toEqual({
      ok: true,
      text: "Hi Ana, you owe 12.5",
    });
  });

  it("allows whitespace inside the braces", () => {
    expect(renderTemplate("Hi {{ name }} / {{\tname}}", { name: "Ana" })).toEqual({
      ok: true,
      text: "Hi Ana / Ana",
    });
  });

  it("accepts dots, dashes and underscores in names as flat keys", () => {
    const result = renderTemplate("{{user.first-name}} {{_id}}", { "user.first-name": "Ana", _id: 7 });
    expect(result).toEqual({ ok: true, text: "Ana 7" });
  });

  it("reports every missing variable once, in order of first appearance", () => {
    expect(renderTemplate("{{b}} {{a}} {{b}} {{ok}} {{ c }}", { ok: "x" })).toEqual({
      ok: false,
      missing: ["b", "a", "c"],
    });
  });

  it("does not read variables off the object prototype", () => {
    expect(renderTemplate("{{constructor}} {{toString}}", {})).toEqual({
      ok: false,
      missing: ["constructor", "toString"],
    });
  });

  it("inserts values literally without expanding placeholders or replacement patterns in them", () => {
    const result = renderTemplate("{{a}} {{b}}", { a: "{{b}}", b: "$& $1 $$" });
    expect(result).toEqual({ ok: true, text: "{{b}} $& $1 $$" });
  });

  it("renders an empty string value rather than reporting it missing", () => {
    expect(renderTemplate("[{{x}}]", { x: "" })).toEqual({ ok: true, text: "[]" });
  });

  it("leaves text that is not a placeholder as written", () => {
    const template = "{{ two words }} {{1st}} {single} {{}} {{";
    expect(renderTemplate(template, {})).toEqual({ ok: true, text: template });
  });
});

describe("templateVariables", () => {
  it("lists distinct placeholder names in order", () => {
    expect(templateVariables("{{b}} {{ a }} {{b}} {{1x}}")).toEqual(["b", "a"]);
  });
});

describe("renderTemplate with maxLength", () => {
  it("renders up to the bound and reports tooLong past it, without building the text", () => {
    expect(renderTemplate("Hi {{n}}", { n: "Ana" }, 6)).toEqual({ ok: true, text: "Hi Ana" });
    expect(renderTemplate("Hi {{n}}", { n: "Anna" }, 6)).toEqual({ ok: false, missing: [], tooLong: true });
    // A shorter value can bring a long template under the bound.
    expect(renderTemplate("{{long_name}}", { long_name: "x" }, 1)).toEqual({ ok: true, text: "x" });
  });

  it("still reports missing variables first", () => {
    expect(renderTemplate("{{a}}{{b}}", { a: "x".repeat(100) }, 10)).toEqual({ ok: false, missing: ["b"] });
  });

  it("stays linear when a long value is repeated many times", () => {
    const template = "{{v}}".repeat(800);
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) renderTemplate(template, { v: "x".repeat(1_530) }, 1_530);
    // 1,000 renders of 800 x 1,530 characters would be 1.2 G characters copied unbounded.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("countPlaceholders", () => {
  it("counts repeats and ignores braces that are not placeholders", () => {
    expect(countPlaceholders("{{a}} {{ a }} {{b}} {{1x}} {{ two words }}")).toBe(3);
  });
});
