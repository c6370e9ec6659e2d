with

source as (

    select * from {{ source('raw', 'transactions') }}

),

renamed as (

    select
        transaction_id,
        customer_id,
        txn_date,
        amount,
        _source_file,
        _loaded_at
    from source

)

select * from renamed
