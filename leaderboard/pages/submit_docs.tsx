/**
 * The page that documents how to submit.
 *
 * @module
 */

import type { FieldLimits } from "../submit.ts";
import { Layout } from "./layout.tsx";

/** Props of {@linkcode SubmitPage}. */
export interface SubmitPageProps {
  /** Datasets this server scores. */
  datasets: string[];
  /** Field length limits. */
  fields: FieldLimits;
  /** Body size limit in bytes. */
  maxBodyBytes: number;
  /** Submissions per token per window. */
  ratePerWindow: number;
  /** The rate window in seconds. */
  rateWindowSeconds: number;
}

const EXAMPLE = `{
  "dataset": "agedb-dir",
  "method": {
    "name": "CCC-GRPO",
    "description": "GRPO with a batch-level CCC reward",
    "paperUrl": "https://arxiv.org/abs/…",
    "codeUrl": "https://github.com/…",
    "backbone": "Qwen2.5-VL-3B",
    "family": "GRPO",
    "extraData": false,
    "config": { "lr": 1e-6 }
  },
  "predictions": [
    { "id": "11706", "output": "The person looks about <answer>31</answer> years old." },
    { "id": "9352", "value": 61.4 }
  ]
}`;

/** The submission documentation page. */
export function SubmitPage(props: SubmitPageProps) {
  const f = props.fields;
  return (
    <Layout title="How to submit" base="../" nav="submit">
      <h1>How to submit</h1>
      <p>
        Ask the maintainers for a token (<code>deno task token create --name &lt;who&gt;</code>{" "}
        on the server). Then send your predictions for every test id of one dataset; the server scores them
        with the same scorer as <code>deno task eval</code>{" "}
        against its own copy of the test labels. Metrics you report yourself are ignored (and flagged when
        they disagree).
      </p>
      <h2>With the client</h2>
      <pre>
        deno task submit predictions.jsonl --dataset agedb-dir --server https://… --token $TOKEN \{"\n"}  --method
        "CCC-GRPO" --backbone Qwen2.5-VL-3B --family GRPO{"\n"}deno task submit results.json --dataset agedb-dir
        --server https://… --token $TOKEN
      </pre>
      <h2>With HTTP</h2>
      <p>
        <code>POST /api/submissions</code> with <code>Authorization: Bearer &lt;token&gt;</code> and{" "}
        <code>Content-Type: application/json</code>:
      </p>
      <pre>{EXAMPLE}</pre>
      <p>
        Each prediction is <code>{`{"id", "output"}`}</code>{" "}
        (raw model text, parsed strictly: the first number in the first{" "}
        <code>&lt;answer&gt;…&lt;/answer&gt;</code> block) or <code>{`{"id", "value"}`}</code>{" "}
        (a finite number). Every test id exactly once. The answer is <code>201</code> with{" "}
        <code>{`{"id", "metrics"}`}</code> (metrics as in results files); an identical resubmission answers
        {" "}
        <code>200</code> with the existing id. Stored submissions are immutable.
      </p>
      <h2>Limits</h2>
      <ul>
        <li>
          body at most {props.maxBodyBytes} bytes; {props.ratePerWindow} submissions per token per{" "}
          {props.rateWindowSeconds} s
        </li>
        <li>
          method name, backbone and family at most {f.name} characters, description {f.description}, URLs{" "}
          {f.url} (http or https), config {f.config} as JSON; prediction ids {f.id}, outputs {f.output}
        </li>
        <li>datasets accepted here: {props.datasets.length > 0 ? props.datasets.join(", ") : "none"}</li>
      </ul>
      <p>
        Every refusal is a 4xx with <code>{`{"error": "…"}`}</code>{" "}
        naming the field at fault, and nothing is stored.
      </p>
    </Layout>
  );
}
